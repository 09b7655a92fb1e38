//! Credentials and authentication schemes.
//!
//! Two kinds of [`Authenticator`]: single-leg ones (Basic, Bearer, and
//! [`oauth::RenewingBearer`], whose token the tool gets and renews itself) put
//! one `Authorization` header on every request; connection-bound ones (NTLM,
//! Kerberos) run a handshake over one or more legs on one connection, which
//! then stays authenticated. The [`Client`](crate::Client) hands each 401 challenge back
//! to the authenticator until it succeeds or gives up, and tells it about the
//! final answer. A client holds exactly one connection, so a connection-bound
//! handshake is never split across two.

pub mod challenge;
pub mod channel_binding;
pub mod kerberos;
pub mod ntlm;
pub mod oauth;

use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;

pub use challenge::{Challenge, parse_challenges};

use crate::Secret;

/// Which scheme to use (`--auth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// Pick from the server's 401 challenge.
    #[default]
    Auto,
    /// HTTP Basic (user and password).
    Basic,
    /// OAuth 2 bearer token.
    Bearer,
    /// NTLMv2 (in the `NTLM` or `Negotiate` HTTP scheme), connection-bound.
    Ntlm,
    /// Kerberos inside `Negotiate`, with the system's GSS-API and the user's
    /// ticket or client keytab; connection-bound.
    Kerberos,
    /// OAuth 2 bearer tokens the tool gets itself ([`Credentials::oauth`]).
    OAuth,
}

/// Asks for the password of the named user; the error says why it could not.
type AskPassword = dyn Fn(&str) -> Result<Secret, String> + Send + Sync;

/// Asks the user for a password (the command line gives one that reads the
/// terminal without echo). Called at most once: every clone shares the answer,
/// so the workers of a run ask once, not once each.
#[derive(Clone)]
pub struct PasswordPrompt {
    ask: Arc<AskPassword>,
    answer: Arc<Mutex<Option<Secret>>>,
}

impl PasswordPrompt {
    /// A prompt that calls `ask` with the user's name.
    pub fn new(ask: impl Fn(&str) -> Result<Secret, String> + Send + Sync + 'static) -> Self {
        PasswordPrompt {
            ask: Arc::new(ask),
            answer: Arc::new(Mutex::new(None)),
        }
    }

    /// The password, asking for it the first time.
    pub fn password(&self, user: &str) -> Result<Secret, String> {
        let mut answer = self.answer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(secret) = answer.as_ref() {
            return Ok(secret.clone());
        }
        let secret = (self.ask)(user)?;
        *answer = Some(secret.clone());
        Ok(secret)
    }
}

impl fmt::Debug for PasswordPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordPrompt")
    }
}

/// Where the password comes from.
#[derive(Clone, Debug, Default)]
pub enum PasswordSource {
    /// Not given (Basic and NTLM then fail with a message saying how to give one).
    #[default]
    Missing,
    /// Given by EWS_PASSWORD, `--password-file` or `--password-stdin`.
    Given(Secret),
    /// Asked for when it is first needed.
    Ask(PasswordPrompt),
}

/// The user's credentials. `Debug` shows no secret.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// `DOMAIN\user`, `user@domain` or `user`.
    pub user: Option<String>,
    /// The password, or how to get it.
    pub password: PasswordSource,
    /// A bearer token (EWS_TOKEN or `--token-file`).
    pub token: Option<Secret>,
    /// The NTLM domain for a plain user name (`--domain`, EWS_DOMAIN).
    pub domain: Option<String>,
    /// Where `--auth oauth` gets its tokens: one source, shared by every
    /// clone of these credentials (every worker of a run).
    pub oauth: Option<Arc<oauth::TokenSource>>,
}

impl Credentials {
    /// The password, asking for it when that is the source.
    pub fn password(&self) -> Result<Secret, String> {
        match &self.password {
            PasswordSource::Given(secret) => Ok(secret.clone()),
            PasswordSource::Missing => Err(
                "no password: set EWS_PASSWORD, or pass --password-file FILE or --password-stdin"
                    .into(),
            ),
            PasswordSource::Ask(prompt) => {
                prompt.password(self.user.as_deref().unwrap_or("the user"))
            }
        }
    }
}

/// What to send next.
#[derive(Debug)]
pub enum Step {
    /// Send this `Authorization` value.
    Header(Secret),
    /// Send no `Authorization` header (the connection is already authenticated).
    NoHeader,
    /// Nothing more to try: authentication failed.
    Failed,
}

/// Why an authenticator cannot go on.
#[derive(Debug, Clone)]
pub enum AuthError {
    /// Missing or unusable settings (exit 2).
    Usage(String),
    /// The server's answer cannot be used safely (exit 4), e.g. an NTLMv1-only challenge.
    Protocol(String),
    /// Authentication cannot be done on this side, or the server could not be
    /// verified (exit 4): no Kerberos ticket, an unknown service principal,
    /// a failed mutual authentication.
    Local(String),
    /// No token could be had from the sign-in server.
    SignIn(oauth::OAuthError),
}

/// One authentication scheme in use: produces `Authorization` values and
/// answers challenges.
pub trait Authenticator: Send {
    /// The scheme name for messages and headers (`Basic`, `Bearer`, `NTLM`, `Negotiate`).
    fn scheme(&self) -> &'static str;

    /// What to send with the next request. `challenge` is this scheme's
    /// challenge from the 401 that answered the previous leg; `None` starts a
    /// new request.
    fn authorization(&mut self, challenge: Option<&Challenge>) -> Result<Step, AuthError>;

    /// The server answered with something other than a 401 after this
    /// scheme's last leg. `challenge` is its `WWW-Authenticate` for the
    /// scheme, if it sent one (Negotiate's final token, to verify mutual
    /// authentication); an error means the server could not be verified.
    fn finish(&mut self, challenge: Option<&Challenge>) -> Result<(), AuthError> {
        let _ = challenge;
        Ok(())
    }

    /// What a final rejection means for this scheme, and what to check;
    /// `challenge` is the server's last challenge for it (e.g. Bearer's `error`).
    fn rejection_hint(&self, challenge: Option<&Challenge>) -> String;

    /// The mailbox these credentials are, for `X-AnchorMailbox` (Exchange
    /// routes a request by it) when the back end sets none.
    fn anchor_mailbox(&self) -> Option<String> {
        None
    }

    /// What a 403 may mean for these credentials, when they can say more
    /// than the server (an app's token without permissions).
    fn forbidden_hint(&self) -> Option<String> {
        None
    }
}

/// Sends one fixed header: Basic and Bearer. After a 401 with it, gives up.
struct SingleLeg {
    scheme: &'static str,
    value: Secret,
}

impl Authenticator for SingleLeg {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn authorization(&mut self, challenge: Option<&Challenge>) -> Result<Step, AuthError> {
        // A challenge after this header was sent means the server refused it:
        // sending the same credentials again could only lock the account.
        if challenge.is_some() {
            return Ok(Step::Failed);
        }
        Ok(Step::Header(self.value.clone()))
    }

    fn rejection_hint(&self, challenge: Option<&Challenge>) -> String {
        if self.scheme == "Bearer" {
            let error = bearer_error(challenge);
            format!(
                "the server rejected the token{error}: it may be expired, or issued for another audience (Exchange Online wants https://outlook.office365.com)"
            )
        } else {
            "the server rejected the user name or password (wrong password, locked or expired account, or a user name in the wrong form: try DOMAIN\\user or user@domain)".to_string()
        }
    }
}

/// A Basic authenticator.
///
/// ```
/// use ews_photo::auth::{basic, Authenticator, Step};
/// use ews_photo::Secret;
/// let mut auth = basic("user1@contoso.com", &Secret::new("Passw0rd!"));
/// let Step::Header(header) = auth.authorization(None).unwrap() else { panic!() };
/// assert_eq!(header.expose(), "Basic dXNlcjFAY29udG9zby5jb206UGFzc3cwcmQh");
/// ```
pub fn basic(user: &str, password: &Secret) -> Box<dyn Authenticator> {
    let encoded = BASE64_STANDARD.encode(format!("{user}:{}", password.expose()));
    Box::new(SingleLeg {
        scheme: "Basic",
        value: Secret::new(format!("Basic {encoded}")),
    })
}

/// A Bearer authenticator.
pub fn bearer(token: &Secret) -> Box<dyn Authenticator> {
    Box::new(SingleLeg {
        scheme: "Bearer",
        value: bearer_header(token),
    })
}

/// The `Authorization` value for a token.
pub(crate) fn bearer_header(token: &Secret) -> Secret {
    Secret::new(format!("Bearer {}", token.expose().trim()))
}

/// What a Bearer refusal said (` (…)`, from `error_description` or
/// `error`), or nothing.
pub(crate) fn bearer_error(challenge: Option<&Challenge>) -> String {
    challenge
        .and_then(|c| c.param("error_description").or(c.param("error")))
        .map(|e| format!(" ({e})"))
        .unwrap_or_default()
}

/// What `--auth auto` picks from a challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Basic, with the configured user and password.
    Basic,
    /// Bearer, with the configured token.
    Bearer,
    /// NTLMv2 in the named HTTP scheme (`NTLM`, or `Negotiate` carrying raw NTLMSSP).
    Ntlm(&'static str),
    /// Kerberos in `Negotiate`.
    Kerberos,
}

/// The HTTP scheme NTLM tokens travel in: `NTLM` when offered, else `Negotiate`.
pub fn ntlm_scheme(offered: &[Challenge]) -> Option<&'static str> {
    if offered.iter().any(|c| c.is("NTLM")) {
        Some("NTLM")
    } else if offered.iter().any(|c| c.is("Negotiate")) {
        Some("Negotiate")
    } else {
        None
    }
}

/// Chooses a scheme from what the server offers and what the user configured:
/// NTLM when offered (also inside Negotiate) and a user is given, else Basic
/// over https with a user, else Bearer with a token. On failure, says what to
/// do next.
///
/// ```
/// use ews_photo::auth::{choose, parse_challenges, Choice};
/// let offered = parse_challenges(["Negotiate, NTLM", "Basic realm=\"x\""]);
/// assert_eq!(choose(&offered, true, false, true), Ok(Choice::Ntlm("NTLM")));
/// let basic = parse_challenges(["Basic realm=\"x\""]);
/// assert_eq!(choose(&basic, true, false, true), Ok(Choice::Basic));
/// assert!(choose(&offered, false, false, true).unwrap_err().contains("--user"));
/// ```
pub fn choose(
    offered: &[Challenge],
    has_user: bool,
    has_token: bool,
    https: bool,
) -> Result<Choice, String> {
    let offers = |scheme: &str| offered.iter().any(|c| c.is(scheme));
    if has_user && let Some(scheme) = ntlm_scheme(offered) {
        return Ok(Choice::Ntlm(scheme));
    }
    // Over plain http, Basic is still chosen so that the refusal says why
    // (and --allow-insecure-auth can allow it).
    if offers("Basic") && has_user && (https || !has_token || !offers("Bearer")) {
        return Ok(Choice::Basic);
    }
    if offers("Bearer") && has_token {
        return Ok(Choice::Bearer);
    }
    Err(suggestion(offered, has_user, has_token))
}

/// Advice for a 401, from the offered schemes and the configured credentials.
pub fn suggestion(offered: &[Challenge], has_user: bool, has_token: bool) -> String {
    suggestion_with(offered, has_user, has_token, None)
}

/// [`suggestion`], with why Kerberos could not be used when that is known
/// (it then replaces the general advice about tickets).
pub fn suggestion_with(
    offered: &[Challenge],
    has_user: bool,
    has_token: bool,
    kerberos_unavailable: Option<&str>,
) -> String {
    let offers = |scheme: &str| offered.iter().any(|c| c.is(scheme));
    let mut advice = Vec::new();
    let windows = offers("NTLM") || offers("Negotiate");
    if offers("Negotiate") {
        advice.push(kerberos_unavailable.map_or_else(
            || "for Kerberos, get a ticket with kinit (a cron job: set KRB5_CLIENT_KTNAME to a client keytab)".to_string(),
            str::to_string,
        ));
    }
    if windows && !has_user {
        advice.push("for NTLM, give --user (or EWS_USER) as DOMAIN\\user or user@domain and a password (EWS_PASSWORD, --password-file or --password-stdin)".to_string());
    }
    if offers("Basic") && !has_user {
        advice.push("for Basic, give --user (or EWS_USER) and a password (EWS_PASSWORD, --password-file or --password-stdin), and --auth basic".to_string());
    }
    if offers("Bearer") && !has_token {
        advice.push(
            "for OAuth, sign in with --auth oauth, --tenant and --client-id (and a client secret, a certificate or --device-code), or give a token with EWS_TOKEN or --token-file and --auth bearer".to_string(),
        );
    }
    if offers("Kerberos") && !windows {
        advice.push("this server offers Kerberos only as its own scheme, not inside Negotiate, which is how ews-photo speaks it; ask the Exchange administrator to offer Negotiate (Windows authentication) or OAuth".to_string());
    }
    if advice.is_empty() {
        if offered.is_empty() {
            advice.push("the server named no scheme; check --url and the credentials".into());
        } else {
            advice.push("none of the offered schemes can be used with the credentials given; try --auth kerberos, --auth ntlm, --auth basic or --auth bearer".into());
        }
    }
    advice.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefers_ntlm_then_basic_with_a_user_then_bearer_with_a_token() {
        let both = parse_challenges(["Bearer realm=\"x\"", "Basic realm=\"x\""]);
        assert_eq!(choose(&both, true, true, true), Ok(Choice::Basic));
        assert_eq!(choose(&both, false, true, true), Ok(Choice::Bearer));
        // Over http with a token, Bearer beats Basic.
        assert_eq!(choose(&both, true, true, false), Ok(Choice::Bearer));
        let ntlm = parse_challenges(["Negotiate, NTLM"]);
        assert_eq!(choose(&ntlm, true, true, true), Ok(Choice::Ntlm("NTLM")));
        let negotiate = parse_challenges(["Negotiate"]);
        assert_eq!(
            choose(&negotiate, true, false, false),
            Ok(Choice::Ntlm("Negotiate"))
        );
        let advice = choose(&ntlm, false, true, true).unwrap_err();
        assert!(advice.contains("for NTLM, give --user"), "{advice}");
        let kerberos = parse_challenges(["Kerberos"]);
        let advice = choose(&kerberos, true, false, true).unwrap_err();
        assert!(advice.contains("not inside Negotiate"), "{advice}");
        // Negotiate means Kerberos too: say how to get a ticket.
        let advice = choose(&negotiate, false, false, true).unwrap_err();
        assert!(
            advice.contains("kinit") && advice.contains("KRB5_CLIENT_KTNAME"),
            "{advice}"
        );
        assert!(advice.contains("for NTLM, give --user"), "{advice}");
    }

    #[test]
    fn single_leg_gives_up_after_a_rejection() {
        let challenge = Challenge {
            scheme: "Basic".into(),
            token: None,
            params: vec![],
        };
        let mut auth = bearer(&Secret::new("tok"));
        assert!(
            matches!(auth.authorization(None).unwrap(), Step::Header(h) if h.expose() == "Bearer tok")
        );
        assert!(matches!(
            auth.authorization(Some(&challenge)).unwrap(),
            Step::Failed
        ));
    }

    #[test]
    fn credentials_debug_shows_no_secret() {
        let prompt = PasswordPrompt::new(|_| Ok(Secret::new("asked-789")));
        prompt.password("u").unwrap();
        let asked = Credentials {
            password: PasswordSource::Ask(prompt),
            ..Credentials::default()
        };
        assert!(!format!("{asked:?}").contains("asked-789"));
        let creds = Credentials {
            user: Some("u".into()),
            password: PasswordSource::Given(Secret::new("pw-123")),
            token: Some(Secret::new("tok-456")),
            domain: None,
            oauth: None,
        };
        let shown = format!("{creds:?}");
        assert!(
            !shown.contains("pw-123") && !shown.contains("tok-456"),
            "{shown}"
        );
    }

    #[test]
    fn the_prompt_asks_once_for_every_clone() {
        let asked = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = Arc::clone(&asked);
        let prompt = PasswordPrompt::new(move |user| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Secret::new(format!("pw-of-{user}")))
        });
        let other = prompt.clone();
        assert_eq!(prompt.password("jdoe").unwrap().expose(), "pw-of-jdoe");
        assert_eq!(other.password("jdoe").unwrap().expose(), "pw-of-jdoe");
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
