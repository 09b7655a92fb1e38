//! Credentials and authentication schemes.
//!
//! Basic and Bearer are single-leg: one `Authorization` header. The
//! [`Authenticator`] interface also carries multi-leg, connection-bound
//! handshakes (NTLM): the client hands each 401 challenge back to the
//! authenticator until it succeeds or gives up, on one connection.

mod challenge;

use std::path::PathBuf;

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
}

/// Where the password comes from.
#[derive(Clone, Debug, Default)]
pub enum PasswordSource {
    /// Not given (Basic then fails with a message saying how to give one).
    #[default]
    Missing,
    /// Given by EWS_PASSWORD, `--password-file` or `--password-stdin`.
    Given(Secret),
    /// Ask on the terminal, when it is needed.
    Prompt,
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
}

impl Credentials {
    /// The password, prompting on the terminal when that is the source.
    pub fn password(&mut self) -> Result<Secret, String> {
        match &self.password {
            PasswordSource::Given(secret) => Ok(secret.clone()),
            PasswordSource::Missing => Err(
                "no password: set EWS_PASSWORD, or pass --password-file FILE or --password-stdin"
                    .into(),
            ),
            PasswordSource::Prompt => {
                let user = self.user.as_deref().unwrap_or("the user");
                let secret = rpassword::prompt_password(format!("Password for {user}: "))
                    .map(Secret::new)
                    .map_err(|e| {
                        format!("cannot read the password from the terminal ({e}); set EWS_PASSWORD, or pass --password-file FILE or --password-stdin")
                    })?;
                self.password = PasswordSource::Given(secret.clone());
                Ok(secret)
            }
        }
    }
}

/// Reads a secret from a file: the first line, without its line ending.
pub fn read_secret_file(path: &PathBuf) -> std::io::Result<Secret> {
    let text = std::fs::read_to_string(path)?;
    Ok(Secret::new(first_line(&text)))
}

/// Reads a secret from a reader (stdin): the first line.
pub fn read_secret(reader: &mut impl std::io::BufRead) -> std::io::Result<Secret> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok(Secret::new(first_line(&line)))
}

fn first_line(text: &str) -> &str {
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r')
}

/// One authentication scheme in use: produces `Authorization` values and
/// answers challenges.
pub trait Authenticator: Send {
    /// The scheme name for messages (`Basic`, `Bearer`).
    fn scheme(&self) -> &'static str;

    /// The `Authorization` value for the next request. `challenge` is this
    /// scheme's challenge from the 401 that answered the previous leg, if any.
    /// `Ok(None)` means the scheme has nothing more to try: authentication failed.
    fn authorization(&mut self, challenge: Option<&Challenge>) -> Result<Option<Secret>, String>;

    /// True when every leg must use the same connection (NTLM).
    fn connection_bound(&self) -> bool {
        false
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

    fn authorization(&mut self, challenge: Option<&Challenge>) -> Result<Option<Secret>, String> {
        // A challenge after this header was sent means the server refused it:
        // sending the same credentials again could only lock the account.
        if challenge.is_some() {
            return Ok(None);
        }
        Ok(Some(self.value.clone()))
    }
}

/// A Basic authenticator.
///
/// ```
/// use ews_photo::auth::{basic, Authenticator};
/// use ews_photo::Secret;
/// let mut auth = basic("user1@contoso.com", &Secret::new("Passw0rd!"));
/// let header = auth.authorization(None).unwrap().unwrap();
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
        value: Secret::new(format!("Bearer {}", token.expose().trim())),
    })
}

/// What `--auth auto` picks from a challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Basic, with the configured user and password.
    Basic,
    /// Bearer, with the configured token.
    Bearer,
}

/// Chooses a scheme from what the server offers and what the user configured.
/// On failure, says what to do next.
///
/// ```
/// use ews_photo::auth::{choose, parse_challenges, Choice};
/// let offered = parse_challenges(["Negotiate, NTLM", "Basic realm=\"x\""]);
/// assert_eq!(choose(&offered, true, false), Ok(Choice::Basic));
/// assert!(choose(&offered, false, false).unwrap_err().contains("--user"));
/// ```
pub fn choose(offered: &[Challenge], has_user: bool, has_token: bool) -> Result<Choice, String> {
    let offers = |scheme: &str| offered.iter().any(|c| c.is(scheme));
    if offers("Basic") && has_user {
        return Ok(Choice::Basic);
    }
    if offers("Bearer") && has_token {
        return Ok(Choice::Bearer);
    }
    Err(suggestion(offered, has_user, has_token))
}

/// Advice for a 401, from the offered schemes and the configured credentials.
pub fn suggestion(offered: &[Challenge], has_user: bool, has_token: bool) -> String {
    let offers = |scheme: &str| offered.iter().any(|c| c.is(scheme));
    let mut advice = Vec::new();
    if offers("Basic") && !has_user {
        advice.push("for Basic, give --user (or EWS_USER) and a password (EWS_PASSWORD, --password-file or --password-stdin), and --auth basic".to_string());
    }
    if offers("Bearer") && !has_token {
        advice.push(
            "for OAuth, give a token with EWS_TOKEN or --token-file and --auth bearer".to_string(),
        );
    }
    if (offers("NTLM") || offers("Negotiate")) && !offers("Basic") && !offers("Bearer") {
        advice.push("this server takes only Windows authentication (Negotiate/NTLM), which this version of ews-photo does not speak; ask the Exchange administrator to enable Basic (over https) or OAuth on the EWS virtual directory".to_string());
    }
    if advice.is_empty() {
        if offered.is_empty() {
            advice.push("the server named no scheme; check --url and the credentials".into());
        } else {
            advice.push("none of the offered schemes can be used with the credentials given; try --auth basic or --auth bearer".into());
        }
    }
    advice.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefers_basic_with_a_user_then_bearer_with_a_token() {
        let both = parse_challenges(["Bearer realm=\"x\"", "Basic realm=\"x\""]);
        assert_eq!(choose(&both, true, true), Ok(Choice::Basic));
        assert_eq!(choose(&both, false, true), Ok(Choice::Bearer));
        let ntlm = parse_challenges(["Negotiate, NTLM"]);
        let advice = choose(&ntlm, true, true).unwrap_err();
        assert!(advice.contains("Windows authentication"), "{advice}");
    }

    #[test]
    fn single_leg_gives_up_after_a_rejection() {
        let challenge = Challenge {
            scheme: "Basic".into(),
            token: None,
            params: vec![],
        };
        let mut auth = bearer(&Secret::new("tok"));
        assert_eq!(
            auth.authorization(None).unwrap().unwrap().expose(),
            "Bearer tok"
        );
        assert!(auth.authorization(Some(&challenge)).unwrap().is_none());
    }

    #[test]
    fn credentials_debug_shows_no_secret() {
        let creds = Credentials {
            user: Some("u".into()),
            password: PasswordSource::Given(Secret::new("pw-123")),
            token: Some(Secret::new("tok-456")),
        };
        let shown = format!("{creds:?}");
        assert!(
            !shown.contains("pw-123") && !shown.contains("tok-456"),
            "{shown}"
        );
    }

    #[test]
    fn secret_files_keep_only_the_first_line() {
        let mut input = std::io::Cursor::new("s3cret\r\nsecond line\n");
        assert_eq!(read_secret(&mut input).unwrap().expose(), "s3cret");
    }
}
