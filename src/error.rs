//! The error type and its exit codes.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::Challenge;

/// Exit codes, as documented in `--help`, the README and the man page.
pub mod exit {
    /// Photo written, or unchanged (ETag matched).
    pub const OK: i32 = 0;
    /// Any failure not listed below.
    pub const FAILURE: i32 = 1;
    /// Usage error or invalid input.
    pub const USAGE: i32 = 2;
    /// No photo: the user has none, or the address is unknown to the server.
    pub const NO_PHOTO: i32 = 3;
    /// Authentication or authorization failed.
    pub const AUTH: i32 = 4;
    /// The server is busy or throttling, and retries ran out.
    pub const BUSY: i32 = 5;
    /// The server could not be reached (DNS, connect, TLS, timeout).
    pub const UNREACHABLE: i32 = 6;
    /// Interrupted by Ctrl-C.
    pub const INTERRUPTED: i32 = 130;
}

/// Everything that can go wrong, each with one exit code ([`Error::exit_code`]).
///
/// Messages say what happened and what to do next; none contains a secret.
///
/// ```
/// use ews_photo::Error;
/// let err = Error::Usage("no EWS URL: pass --url or set EWS_URL".into());
/// assert_eq!(err.exit_code(), 2);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or the input was not usable.
    #[error("{0}")]
    Usage(String),

    /// The server answered, but not with a photo.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),

    /// The server could not be reached or the connection broke.
    #[error(transparent)]
    Transport(#[from] TransportError),

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
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Exchange(e) => e.exit_code(),
            Error::Transport(e) => e.exit_code(),
            Error::Output(crate::output::OutputError::Terminal) => exit::USAGE,
            Error::Photo(_) | Error::Output(_) => exit::FAILURE,
            Error::NoPhoto { .. } => exit::NO_PHOTO,
            Error::Interrupted => exit::INTERRUPTED,
            Error::SomeFailed { .. } => exit::FAILURE,
        }
    }
}

/// The server answered something other than a photo.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
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
    #[error(
        "access denied ({detail}): the account may lack the right to read this mailbox's photo, or EWS may be blocked for it (EWSEnabled, application access policy)"
    )]
    Forbidden {
        /// The status or response code and message.
        detail: String,
    },

    /// ErrorServerBusy, 503 and friends: the server asked us to back off.
    #[error("the server is busy ({code}{}){}; try again later or lower --jobs", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default(), back_off.map(|d| format!(", it asked to wait {}", crate::client::human_duration(d))).unwrap_or_default())]
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
    format!("{reason}: {offered}{tried}; {hint}")
}

impl ExchangeError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExchangeError::Unauthorized { .. } | ExchangeError::Forbidden { .. } => exit::AUTH,
            ExchangeError::Busy { .. } => exit::BUSY,
            ExchangeError::InvalidAddress { .. } => exit::USAGE,
            _ => exit::FAILURE,
        }
    }
}

/// The connection failed, or the answer broke a transport limit.
#[derive(Debug, thiserror::Error)]
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

    /// The client could not be set up (bad proxy URL, unreadable CA file…).
    #[error("{0}")]
    Setup(String),

    /// A file named on the command line could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl TransportError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            TransportError::Unreachable { .. } => exit::UNREACHABLE,
            TransportError::TooLarge { .. } => exit::FAILURE,
            TransportError::Setup(_) | TransportError::ReadFile { .. } => exit::USAGE,
        }
    }
}
