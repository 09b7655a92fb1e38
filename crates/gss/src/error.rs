//! Errors: the library could not be loaded ([`LoadError`]), a GSS-API call
//! failed ([`GssError`], with both status texts), or a context was used after
//! it ended ([`Error::Finished`]).

use std::fmt;

/// Why no GSS-API library could be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// No candidate could be opened; each attempt says why.
    #[error("no GSS-API (Kerberos) library could be loaded: {}", attempts(.tried))]
    NotFound {
        /// Each library tried, with the loader's reason.
        tried: Vec<LoadError>,
    },
    /// One library could not be opened.
    #[error("{}", open_failure(library, reason))]
    Open {
        /// The path or file name given to the loader.
        library: String,
        /// The loader's message (dlerror).
        reason: String,
    },
    /// The library opened but lacks a function we need: not a GSS-API library,
    /// or a very old one.
    #[error("{library} has no {symbol} ({reason}): it is not a usable GSS-API library")]
    Symbol {
        /// The library's path or file name.
        library: String,
        /// The missing function.
        symbol: &'static str,
        /// The loader's message.
        reason: String,
    },
    /// This platform has no GSS-API library we know (Windows uses SSPI).
    #[error("Kerberos through the GSS-API is not supported on this platform")]
    Unsupported,
}

/// dlerror's text names the library itself, except on some platforms.
fn open_failure(library: &str, reason: &str) -> String {
    if reason.starts_with(library) {
        reason.to_string()
    } else {
        format!("{library}: {reason}")
    }
}

fn attempts(tried: &[LoadError]) -> String {
    tried
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Which GSS-API call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `gss_acquire_cred`: looking for the user's Kerberos credentials.
    AcquireCredentials,
    /// `gss_inquire_cred`: reading the credentials' principal and lifetime.
    InquireCredentials,
    /// `gss_import_name`: turning the target into a GSS name.
    ImportName,
    /// `gss_init_sec_context`: one step of the handshake.
    InitSecContext,
}

impl Operation {
    /// The C function's name.
    pub fn function(self) -> &'static str {
        match self {
            Operation::AcquireCredentials => "gss_acquire_cred",
            Operation::InquireCredentials => "gss_inquire_cred",
            Operation::ImportName => "gss_import_name",
            Operation::InitSecContext => "gss_init_sec_context",
        }
    }
}

/// What a failure means, for choosing the advice to give. Decided from the
/// routine error of the major status and the minor (Kerberos) code, with the
/// minor text as a fallback for libraries whose codes differ from MIT's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No usable credentials: no ticket cache, no client keytab.
    NoCredentials,
    /// The ticket (usually the TGT) has expired.
    CredentialsExpired,
    /// The KDC does not know the service principal (wrong SPN).
    UnknownServer,
    /// The server's name maps to a realm the user's KDC has no trust with
    /// ("Server krbtgt/OTHER.REALM@HOME.REALM not found in Kerberos
    /// database"): `[domain_realm]` in krb5.conf, or an SPN with `@REALM`.
    WrongRealm,
    /// The clocks of this machine and the KDC (or server) differ too much.
    ClockSkew,
    /// No KDC could be found or reached for the realm (wrong realm, DNS,
    /// firewall, krb5.conf).
    RealmUnreachable,
    /// The channel bindings did not match (acceptor side, or TLS interception).
    BadBindings,
    /// The peer's token failed its integrity check or could not be parsed.
    BadToken,
    /// A token was presented twice.
    Replay,
    /// Anything else.
    Other,
}

/// A failed GSS-API call: the major and minor status and the library's own
/// text for each (from `gss_display_status`, taken on the failing thread, so
/// the minor text carries details such as the principal's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GssError {
    /// The call that failed.
    pub operation: Operation,
    /// The major status (RFC 2744 §3.9.1).
    pub major: u32,
    /// The mechanism's minor status (for MIT's Kerberos, a com_err code).
    pub minor: u32,
    /// The text of the major status, e.g. "Unspecified GSS failure.  Minor
    /// code may provide more information".
    pub major_text: String,
    /// The text of the minor status, e.g. "Server HTTP/x@REALM not found in
    /// Kerberos database"; empty when the library has none.
    pub minor_text: String,
}

/// Routine errors (the major status' bits 16–23).
pub mod routine {
    /// GSS_S_BAD_MECH.
    pub const BAD_MECH: u32 = 1 << 16;
    /// GSS_S_BAD_NAME.
    pub const BAD_NAME: u32 = 2 << 16;
    /// GSS_S_BAD_BINDINGS.
    pub const BAD_BINDINGS: u32 = 4 << 16;
    /// GSS_S_BAD_SIG (GSS_S_BAD_MIC).
    pub const BAD_SIG: u32 = 6 << 16;
    /// GSS_S_NO_CRED.
    pub const NO_CRED: u32 = 7 << 16;
    /// GSS_S_DEFECTIVE_TOKEN.
    pub const DEFECTIVE_TOKEN: u32 = 9 << 16;
    /// GSS_S_CREDENTIALS_EXPIRED.
    pub const CREDENTIALS_EXPIRED: u32 = 11 << 16;
    /// GSS_S_FAILURE.
    pub const FAILURE: u32 = 13 << 16;
}

/// MIT Kerberos com_err codes (krb5.h) as they arrive in the minor status.
mod krb5 {
    pub const KDC_ERR_S_PRINCIPAL_UNKNOWN: i32 = -1765328377;
    pub const KRB_AP_ERR_BAD_INTEGRITY: i32 = -1765328353;
    pub const KRB_AP_ERR_TKT_EXPIRED: i32 = -1765328352;
    pub const KRB_AP_ERR_REPEAT: i32 = -1765328350;
    pub const KRB_AP_ERR_SKEW: i32 = -1765328347;
    pub const KRB_AP_ERR_MODIFIED: i32 = -1765328343;
    pub const CC_NOTFOUND: i32 = -1765328243;
    pub const REALM_UNKNOWN: i32 = -1765328230;
    pub const KDC_UNREACH: i32 = -1765328228;
    pub const FCC_NOFILE: i32 = -1765328189;
    pub const REALM_CANT_RESOLVE: i32 = -1765328164;
}

impl GssError {
    /// The routine-error field of the major status (see [`routine`]).
    pub fn routine_error(&self) -> u32 {
        self.major & 0x00ff_0000
    }

    /// What the failure means (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        classify(self.routine_error(), self.minor as i32, &self.minor_text)
    }
}

fn classify(routine_error: u32, minor: i32, minor_text: &str) -> ErrorKind {
    let text = minor_text.to_ascii_lowercase();
    let says = |needle: &str| text.contains(needle);
    // The KDC could not give a cross-realm ticket: the name is in no realm it trusts.
    if says("server krbtgt/") && says("not found in kerberos database") {
        return ErrorKind::WrongRealm;
    }
    match minor {
        krb5::KDC_ERR_S_PRINCIPAL_UNKNOWN => return ErrorKind::UnknownServer,
        krb5::KRB_AP_ERR_TKT_EXPIRED => return ErrorKind::CredentialsExpired,
        krb5::KRB_AP_ERR_SKEW => return ErrorKind::ClockSkew,
        krb5::KRB_AP_ERR_BAD_INTEGRITY | krb5::KRB_AP_ERR_MODIFIED => {
            return ErrorKind::BadToken;
        }
        krb5::KRB_AP_ERR_REPEAT => return ErrorKind::Replay,
        krb5::REALM_UNKNOWN | krb5::KDC_UNREACH | krb5::REALM_CANT_RESOLVE => {
            return ErrorKind::RealmUnreachable;
        }
        krb5::CC_NOTFOUND | krb5::FCC_NOFILE => return ErrorKind::NoCredentials,
        _ => {}
    }
    // Heimdal and Apple use other minor codes; their texts are close to MIT's.
    if says("not found in kerberos database") || says("server not found") {
        return ErrorKind::UnknownServer;
    }
    if says("clock skew") {
        return ErrorKind::ClockSkew;
    }
    if says("ticket expired") || says("credentials have expired") {
        return ErrorKind::CredentialsExpired;
    }
    if says("cannot find kdc") || says("cannot contact any kdc") || says("cannot resolve") {
        return ErrorKind::RealmUnreachable;
    }
    if says("integrity check") {
        return ErrorKind::BadToken;
    }
    if says("replay") {
        return ErrorKind::Replay;
    }
    if says("no kerberos credentials")
        || says("no credentials cache")
        || says("credentials cache file")
        || says("cannot find mechanisms to negotiate")
    {
        return ErrorKind::NoCredentials;
    }
    match routine_error {
        routine::NO_CRED => ErrorKind::NoCredentials,
        routine::CREDENTIALS_EXPIRED => ErrorKind::CredentialsExpired,
        routine::BAD_BINDINGS => ErrorKind::BadBindings,
        routine::DEFECTIVE_TOKEN | routine::BAD_SIG => ErrorKind::BadToken,
        _ => ErrorKind::Other,
    }
}

impl fmt::Display for GssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let major = self.major_text.trim_end_matches(['.', ' ']);
        let major = if major.is_empty() {
            format!("major status {:#010x}", self.major)
        } else {
            major.to_string()
        };
        write!(f, "{} failed: {major}", self.operation.function())?;
        if !self.minor_text.is_empty() {
            write!(f, ": {}", self.minor_text.trim_end_matches(['.', ' ']))?;
        } else if self.minor != 0 {
            write!(f, " (minor status {})", self.minor as i32)?;
        }
        Ok(())
    }
}

impl std::error::Error for GssError {}

/// An error from a security context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The GSS-API call failed.
    #[error(transparent)]
    Gss(#[from] GssError),
    /// The context has ended (complete, or failed before): a new handshake
    /// needs a new context.
    #[error("the Kerberos security context is already {}: a new handshake needs a new context", if *.complete { "complete" } else { "failed" })]
    Finished {
        /// True when it ended complete, false when it failed.
        complete: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(major: u32, minor: i32, major_text: &str, minor_text: &str) -> GssError {
        GssError {
            operation: Operation::InitSecContext,
            major,
            minor: minor as u32,
            major_text: major_text.into(),
            minor_text: minor_text.into(),
        }
    }

    #[test]
    fn kinds_from_mit_codes() {
        let unknown = error(
            routine::FAILURE,
            krb5::KDC_ERR_S_PRINCIPAL_UNKNOWN,
            "Unspecified GSS failure.  Minor code may provide more information",
            "Server HTTP/nope@EWS.TEST not found in Kerberos database",
        );
        assert_eq!(unknown.kind(), ErrorKind::UnknownServer);
        assert_eq!(
            unknown.to_string(),
            "gss_init_sec_context failed: Unspecified GSS failure.  Minor code may provide more information: Server HTTP/nope@EWS.TEST not found in Kerberos database"
        );
        // Through SPNEGO, MIT maps minor codes to its own numbers: the text decides.
        assert_eq!(
            error(
                routine::FAILURE,
                100005,
                "",
                "Server krbtgt/OTHER.TEST@EWS.TEST not found in Kerberos database"
            )
            .kind(),
            ErrorKind::WrongRealm
        );
        assert_eq!(
            error(routine::FAILURE, krb5::KRB_AP_ERR_SKEW, "", "").kind(),
            ErrorKind::ClockSkew
        );
        assert_eq!(
            error(routine::FAILURE, krb5::KRB_AP_ERR_TKT_EXPIRED, "", "").kind(),
            ErrorKind::CredentialsExpired
        );
        assert_eq!(
            error(routine::FAILURE, krb5::KDC_UNREACH, "", "").kind(),
            ErrorKind::RealmUnreachable
        );
    }

    #[test]
    fn kinds_from_texts_and_routine_errors() {
        // Heimdal-style codes that MIT's table does not know.
        assert_eq!(
            error(routine::FAILURE, 1, "", "Clock skew too great").kind(),
            ErrorKind::ClockSkew
        );
        assert_eq!(
            error(routine::BAD_BINDINGS, 0, "", "").kind(),
            ErrorKind::BadBindings
        );
        assert_eq!(
            error(
                routine::NO_CRED,
                5,
                "No credentials were supplied, or the credentials were unavailable or inaccessible",
                "",
            )
            .kind(),
            ErrorKind::NoCredentials
        );
        assert_eq!(
            error(
                routine::FAILURE,
                5,
                "",
                "SPNEGO cannot find mechanisms to negotiate"
            )
            .kind(),
            ErrorKind::NoCredentials
        );
        assert_eq!(error(routine::FAILURE, 5, "", "").kind(), ErrorKind::Other);
    }

    #[test]
    fn display_without_texts_shows_the_codes() {
        let e = error(routine::FAILURE, -5, "", "");
        assert_eq!(
            e.to_string(),
            "gss_init_sec_context failed: major status 0x000d0000 (minor status -5)"
        );
    }
}
