//! The error type, and the exit codes it maps to.
//!
//! Each variant says why, and so which exit code: a local file is not a
//! transport error, and a folder that cannot be created is not a usage error.
//! [`Exit::ALL`] is the one table of exit codes; `--help`, the man page, the
//! README and the guide are checked against it.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::challenge::Challenge;
use crate::auth::oauth::OAuthError;
use crate::human::HumanDuration;

/// The process exit codes.
///
/// ```
/// use ews_photo::Exit;
/// assert_eq!(Exit::NoPhoto.code(), 3);
/// assert!(Exit::ALL.iter().any(|e| e.meaning().contains("unknown to the server")));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Photo written, or unchanged.
    Ok = 0,
    /// Any failure not listed below.
    Failure = 1,
    /// Usage error or invalid input.
    Usage = 2,
    /// No photo.
    NoPhoto = 3,
    /// Authentication or authorization failed.
    Auth = 4,
    /// Busy or throttling, retries ran out.
    Busy = 5,
    /// The server could not be reached.
    Unreachable = 6,
    /// Ctrl-C.
    Interrupted = 130,
}

impl Exit {
    /// Every exit code, in order.
    pub const ALL: [Exit; 8] = [
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::NoPhoto,
        Exit::Auth,
        Exit::Busy,
        Exit::Unreachable,
        Exit::Interrupted,
    ];

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// What it means, as `--help`, the man page, the README and the guide say it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "photo written, or unchanged (ETag matched)",
            Exit::Failure => {
                "any failure not listed below (server error, damaged answer, cannot write)"
            }
            Exit::Usage => {
                "usage error or invalid input (bad size, malformed address, unreadable file)"
            }
            Exit::NoPhoto => {
                "no photo: the user has none, or the address is unknown to the server (HTTP 404)"
            }
            Exit::Auth => "authentication or authorization failed",
            Exit::Busy => "the server is busy or throttling, and retries ran out: try again later",
            Exit::Unreachable => "the server could not be reached (DNS, connect, TLS, timeout)",
            Exit::Interrupted => "interrupted (Ctrl-C); no partial file is left behind",
        }
    }

    /// A word or two, for one-line summaries.
    pub fn short(self) -> &'static str {
        match self {
            Exit::Ok => "written or unchanged",
            Exit::Failure => "failure",
            Exit::Usage => "usage",
            Exit::NoPhoto => "no photo",
            Exit::Auth => "authentication",
            Exit::Busy => "busy",
            Exit::Unreachable => "unreachable",
            Exit::Interrupted => "interrupted",
        }
    }
}

/// Everything that can go wrong, each with one exit code ([`Error::exit`]).
///
/// Messages say what happened and what to do next; none contains a secret.
///
/// ```
/// use ews_photo::{Error, Exit};
/// let err = Error::Usage("no EWS URL: pass --url or set EWS_URL".into());
/// assert_eq!(err.exit(), Exit::Usage);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or the settings are not usable.
    #[error("{0}")]
    Usage(String),

    /// A file given as input (address list, password, token, CA certificate)
    /// cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Input {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// Something the tool needs locally cannot be made: a folder, a report, a
    /// thread.
    #[error("cannot {action}: {reason}")]
    Local {
        /// What was attempted, e.g. "create the folder photos".
        action: String,
        /// Why it failed, and what to check.
        reason: String,
    },

    /// Authentication could not be done on this side, or the server could not
    /// be verified: Kerberos without a GSS-API library or a ticket, an unknown
    /// service principal, a clock skew, a failed mutual authentication.
    #[error("{0}")]
    Authentication(String),

    /// The server answered, but not with a photo.
    #[error(transparent)]
    Server(#[from] ServerError),

    /// The server could not be reached or the connection broke.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// Autodiscover found no usable EWS URL.
    #[error(transparent)]
    Autodiscover(#[from] crate::autodiscover::Error),

    /// Signing in to get a token failed (`--auth oauth`): refused, ended,
    /// unreachable, or unusable settings, each with its own exit code.
    #[error(transparent)]
    SignIn(#[from] OAuthError),

    /// The bytes received are not a usable image.
    #[error(transparent)]
    Photo(#[from] crate::photo::PhotoError),

    /// Writing the result failed.
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),

    /// The user has no photo, or the server does not know the address.
    #[error("{email} has no photo, or the server does not know this address{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NoPhoto {
        /// The address asked for.
        email: String,
        /// What the server said, when it said more than "404".
        detail: Option<String>,
    },

    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,

    /// A bulk run finished, but some addresses failed.
    #[error("{failed} of {total} addresses failed{}", report.as_ref().map(|r| format!("; see the report, {}", r.display())).unwrap_or_default())]
    SomeFailed {
        /// Addresses that failed.
        failed: u64,
        /// Addresses in the run.
        total: u64,
        /// The report file, if any.
        report: Option<PathBuf>,
    },
}

impl Error {
    /// The exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) | Error::Input { .. } => Exit::Usage,
            Error::Local { .. } => Exit::Failure,
            Error::Authentication(_) => Exit::Auth,
            Error::Server(e) => e.exit(),
            Error::Transport(e) => e.exit(),
            Error::Autodiscover(e) => autodiscover_exit(e),
            Error::SignIn(e) => sign_in_exit(e),
            Error::Output(crate::output::OutputError::Terminal) => Exit::Usage,
            Error::Photo(_) | Error::Output(_) => Exit::Failure,
            Error::NoPhoto { .. } => Exit::NoPhoto,
            Error::Interrupted => Exit::Interrupted,
            Error::SomeFailed { .. } => Exit::Failure,
        }
    }

    /// An [`Error::Input`] for `path`.
    pub fn input(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Input {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Local`].
    pub fn local(action: impl Into<String>, reason: impl std::fmt::Display) -> Error {
        Error::Local {
            action: action.into(),
            reason: reason.to_string(),
        }
    }
}

/// Autodiscover's verdicts: 2 an address without a usable domain, 6 nothing
/// reachable, 4 only authentication stood in the way, 1 every candidate
/// answered but none gave an EWS URL (loops included).
fn autodiscover_exit(error: &crate::autodiscover::Error) -> Exit {
    use crate::autodiscover::Error as Discovery;
    match error {
        Discovery::BadAddress { .. } => Exit::Usage,
        Discovery::NothingReachable { .. } => Exit::Unreachable,
        Discovery::Authentication { .. } | Discovery::UnconfirmedUrl { .. } => Exit::Auth,
        Discovery::NoEwsUrl { .. }
        | Discovery::RedirectLoop { .. }
        | Discovery::TooManyRedirects { .. }
        | Discovery::AddressLoop { .. } => Exit::Failure,
    }
}

/// Refusals are authentication failures, a busy sign-in server is busy, an
/// unreachable one unreachable, settings and certificates are usage errors.
fn sign_in_exit(error: &OAuthError) -> Exit {
    match error {
        OAuthError::Usage(_) | OAuthError::Certificate(_) => Exit::Usage,
        OAuthError::Endpoint(e) if e.is_transient() => Exit::Busy,
        OAuthError::Endpoint(_) | OAuthError::DeviceFlowEnded(_) => Exit::Auth,
        OAuthError::Unreachable(_) => Exit::Unreachable,
        OAuthError::Malformed(_) | OAuthError::Signing(_) => Exit::Failure,
    }
}

/// The server answered something other than a photo.
///
/// `Clone`, so that one answer to a batch of requests can fail each of them.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ServerError {
    /// 401: credentials missing, wrong, or of a scheme the server does not take.
    #[error("{}", unauthorized_message(*status, offered, tried.as_deref(), hint))]
    Unauthorized {
        /// 401, or 407 from a proxy.
        status: u16,
        /// The schemes the server offered in `WWW-Authenticate`.
        offered: Vec<Challenge>,
        /// The scheme that was tried, if any.
        tried: Option<String>,
        /// What to do next.
        hint: String,
    },

    /// 403 or an access-denied response code.
    #[error("access denied ({detail}): {}", advice.as_deref().unwrap_or(FORBIDDEN_ADVICE))]
    Forbidden {
        /// The status or response code and message.
        detail: String,
        /// What is probably missing, and who can grant it, as the back end
        /// reads the refusal (EWS's policy header; Graph: the permission and
        /// its consent). `None`: the refusal says nothing more, and the
        /// usual guess applies (the right to the mailbox, EWSEnabled, an
        /// application access policy), unless the credentials know better.
        advice: Option<String>,
    },

    /// 403 or access denied to an app's own token, with what the token says
    /// about why (no roles: no admin consent).
    #[error("access denied ({detail}): {hint}")]
    AppForbidden {
        /// The status or response code and message.
        detail: String,
        /// What the token shows, and what to change.
        hint: String,
    },

    /// The server refused the request's impersonation (EWS
    /// `ExchangeImpersonation`): the message says what to change.
    #[error("{code}{}: {advice}", message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Impersonation {
        /// The EWS response code, e.g. `ErrorInvalidExchangeImpersonationHeaderData`.
        code: String,
        /// The server's message.
        message: Option<String>,
        /// What to change.
        advice: String,
    },

    /// ErrorServerBusy, 503 and friends: the server asked us to back off.
    #[error("the server is busy ({code}{}){}; try again later or lower --jobs", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default(), back_off.map(|d| format!(", it asked to wait {}", HumanDuration(d))).unwrap_or_default())]
    Busy {
        /// `ErrorServerBusy`, `HTTP 503`, …
        code: String,
        /// The server's message.
        message: Option<String>,
        /// `BackOffMilliseconds`, `Retry-After` or "Suggested backoff time".
        back_off: Option<Duration>,
    },

    /// HTTP 500 with no SOAP fault: a server-side failure, or an address the
    /// organisation does not know (Exchange answers both alike).
    #[error(
        "the server failed or does not know this address (HTTP {status} with {what}); check the address, then try again later"
    )]
    ServerFailure {
        /// The HTTP status.
        status: u16,
        /// "an empty body", "a text/html body", …
        what: String,
    },

    /// A SOAP fault or `ResponseClass="Error"` response not covered above.
    #[error("the server refused the request: {code}{}", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Refused {
        /// The EWS response code, e.g. `ErrorSchemaValidation`.
        code: String,
        /// The server's message.
        message: Option<String>,
    },

    /// The server said the address is not a valid SMTP address.
    #[error("the server says '{email}' is not a valid SMTP address ({code})")]
    InvalidAddress {
        /// The address sent.
        email: String,
        /// The EWS response code.
        code: String,
    },

    /// A redirect the tool does not follow.
    #[error("{0}")]
    Redirect(String),

    /// The answer could not be understood.
    #[error("the server's answer could not be understood: {0}")]
    Malformed(String),

    /// An HTTP status the protocol does not use for this operation.
    #[error("unexpected HTTP {status} from the server{}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// A hint about the body.
        detail: Option<String>,
    },
}

/// What a refusal from EWS usually means.
const FORBIDDEN_ADVICE: &str = "the account may lack the right to read this mailbox's photo, or EWS may be blocked for it (EWSEnabled, application access policy)";

fn unauthorized_message(
    status: u16,
    offered: &[Challenge],
    tried: Option<&str>,
    hint: &str,
) -> String {
    let reason = if status == 407 {
        "407 Proxy Authentication Required"
    } else {
        "401 Unauthorized"
    };
    format!("{reason}: {}", unauthorized_detail(offered, tried, hint))
}

/// A 401's message without its status: what was offered and tried, and the
/// hint (for a caller that names the status itself).
fn unauthorized_detail(offered: &[Challenge], tried: Option<&str>, hint: &str) -> String {
    let offered = if offered.is_empty() {
        "the server offers no authentication scheme".to_string()
    } else {
        let names: Vec<&str> = offered.iter().map(|c| c.scheme.as_str()).collect();
        format!("the server offers {}", names.join(", "))
    };
    let tried = match tried {
        Some(t) => format!("; tried {t}"),
        None => "; no credentials were sent".to_string(),
    };
    format!("{offered}{tried}; {hint}")
}

impl ServerError {
    /// For a 401 ([`ServerError::Unauthorized`] from the server, not a
    /// proxy's 407), its message without the status ("the server offers …;
    /// tried …; hint"); `None` for any other error.
    pub fn unauthorized_detail(&self) -> Option<String> {
        match self {
            ServerError::Unauthorized {
                status: 401,
                offered,
                tried,
                hint,
            } => Some(unauthorized_detail(offered, tried.as_deref(), hint)),
            _ => None,
        }
    }

    /// The exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            ServerError::Unauthorized { .. }
            | ServerError::Forbidden { .. }
            | ServerError::AppForbidden { .. }
            | ServerError::Impersonation { .. } => Exit::Auth,
            ServerError::Busy { .. } => Exit::Busy,
            ServerError::InvalidAddress { .. } => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

/// The connection failed, or the answer broke a transport limit.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TransportError {
    /// DNS, connect, TLS handshake, timeout, reset.
    #[error("could not reach {url}: {reason}")]
    Unreachable {
        /// The URL without query.
        url: String,
        /// What failed, and what to check.
        reason: String,
    },

    /// The response body was larger than the cap.
    #[error(
        "the server sent more than {limit} bytes; a photo is never that large, so the answer was refused (is the URL an EWS endpoint?)"
    )]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
}

impl TransportError {
    /// The exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            TransportError::Unreachable { .. } => Exit::Unreachable,
            TransportError::TooLarge { .. } => Exit::Failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_exit_code() {
        let io = || std::io::Error::other("x");
        assert_eq!(Error::input("list.txt", io()).exit(), Exit::Usage);
        assert_eq!(
            Error::local("create the folder photos", io()).exit(),
            Exit::Failure
        );
        assert_eq!(Error::Interrupted.exit().code(), 130);
        assert_eq!(
            Error::Authentication("no Kerberos ticket".into()).exit(),
            Exit::Auth
        );
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 130]);
    }

    #[test]
    fn sign_in_failures_have_the_exit_code_of_their_kind() {
        use crate::auth::oauth::TokenEndpointError;
        let refusal = |status: u16, error: &str| {
            Error::from(OAuthError::from(TokenEndpointError {
                status,
                error: error.into(),
                code: None,
                description: None,
                suberror: None,
                trace_id: None,
                correlation_id: None,
                retry_after: None,
            }))
        };
        assert_eq!(refusal(401, "invalid_client").exit(), Exit::Auth);
        assert_eq!(refusal(429, "temporarily_unavailable").exit(), Exit::Busy);
        let of = |e: OAuthError| Error::from(e).exit();
        assert_eq!(of(OAuthError::DeviceFlowEnded("x".into())), Exit::Auth);
        assert_eq!(of(OAuthError::Unreachable("x".into())), Exit::Unreachable);
        assert_eq!(of(OAuthError::Usage("x".into())), Exit::Usage);
        assert_eq!(of(OAuthError::Certificate("x".into())), Exit::Usage);
        assert_eq!(of(OAuthError::Malformed("x".into())), Exit::Failure);
    }
}
