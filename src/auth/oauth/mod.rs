//! OAuth 2 sign-in with Microsoft Entra ID (and servers shaped like it): the
//! tool gets its own tokens with a client secret, a certificate or the
//! device-code flow, caches them, and renews them.
//!
//! The protocol parts are pure (bytes in, values out, time and randomness
//! passed in), so that every answer shape Entra is known to send is a unit
//! test. The I/O is in two places: [`TokenSource`] (the token requests, over
//! the tool's own [`Transport`](crate::Transport), and the waits between
//! them) and [`cache::TokenCache`] (files).
//!
//! - [`TokenSource`]: the shared source of tokens for every client of a run;
//!   [`RenewingBearer`] is the authenticator that sends them.
//! - [`Authority`]: the token and device-code URLs of a tenant.
//! - [`ClientCertificate`] and [`client_assertion`]: the signed JWT (RFC 7523)
//!   a certificate credential sends, as Microsoft documents it.
//! - [`form`]: the token-request bodies, fields in the order MSAL sends them.
//! - [`response`]: token, device-code and error answers, classified by the
//!   JSON `error` and `error_codes[0]`, never by description text.
//! - [`device`]: the device-code polling decision (RFC 8628).
//! - [`scope`]: default scopes and the resource of an EWS URL.
//! - [`cache`]: the token-cache entry and its private, atomic file.
//!
//! ```
//! use ews_photo::auth::oauth::{Authority, form, scope};
//! use ews_photo::Secret;
//!
//! let authority = Authority::new("https://login.microsoftonline.com", "contoso.onmicrosoft.com")?;
//! assert_eq!(
//!     authority.token_url(),
//!     "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
//! );
//! let body = form::client_credentials(
//!     "11111111-2222-3333-4444-555555555555",
//!     form::ClientAuth::Secret(&Secret::new("s3cret")),
//!     &scope::app_only(scope::EXCHANGE_ONLINE),
//! );
//! assert_eq!(
//!     body.names(),
//!     ["client_id", "grant_type", "client_info", "client_secret", "scope"]
//! );
//! assert_eq!(format!("{body:?}").contains("s3cret"), false);
//! # Ok::<(), ews_photo::auth::oauth::OAuthError>(())
//! ```

mod assertion;
mod bearer;
pub mod cache;
mod certificate;
pub mod device;
pub mod form;
pub mod response;
pub mod scope;
mod source;

pub use assertion::{AssertionAlg, client_assertion, jti_from_random};
pub use bearer::RenewingBearer;
pub use certificate::ClientCertificate;
pub use response::{EntraCode, TokenEndpointError, TokenResponse};
pub use source::{ClientCredential, SignIn, SignInEvent, Token, TokenSource, log_body};

use crate::HttpUrl;

/// Microsoft Entra ID's global authority (`--authority` default).
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// What can go wrong in OAuth sign-in. Messages say what happened and what to
/// check next; none contains a secret (the server's description is shown with
/// every value the request sent taken out).
#[derive(Clone, Debug, thiserror::Error)]
pub enum OAuthError {
    /// The settings cannot work (bad authority, tenant, scope): a usage error.
    #[error("{0}")]
    Usage(String),

    /// The certificate or its key cannot be used.
    #[error("{0}")]
    Certificate(String),

    /// The token endpoint refused, with its own error code.
    #[error(transparent)]
    Endpoint(Box<TokenEndpointError>),

    /// The device-code sign-in ended without a token: declined, expired, or
    /// the code was wrong. The message says what happened and what to do.
    #[error("{0}")]
    DeviceFlowEnded(String),

    /// The answer is not an OAuth 2 answer at all (a proxy's page, a wrong
    /// `--authority`), or lacks what a token answer must have.
    #[error("{0}")]
    Malformed(String),

    /// Signing the client assertion failed.
    #[error("cannot sign the client assertion: {0}")]
    Signing(String),

    /// The sign-in server could not be reached (DNS, connect, TLS, timeout).
    #[error("cannot reach the sign-in server: {0}")]
    Unreachable(String),
}

/// Whom a token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// The app itself (client credentials: a secret or a certificate).
    AppOnly,
    /// A signed-in user (the device-code flow).
    Delegated,
}

impl From<TokenEndpointError> for OAuthError {
    fn from(error: TokenEndpointError) -> OAuthError {
        OAuthError::Endpoint(Box::new(error))
    }
}

/// A tenant at an authority: where its token and device-code endpoints are.
///
/// ```
/// use ews_photo::auth::oauth::Authority;
/// let a = Authority::new("https://login.microsoftonline.us/", "organizations").unwrap();
/// assert_eq!(a.device_code_url(), "https://login.microsoftonline.us/organizations/oauth2/v2.0/devicecode");
/// assert!(a.is_multi_tenant() && a.is_https());
/// assert!(!Authority::new("http://127.0.0.1:8080", "contoso").unwrap().is_https());
/// assert!(Authority::new("login.microsoftonline.com", "contoso").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    base: String,
    https: bool,
    tenant: String,
}

impl Authority {
    /// Checks and joins an authority URL and a tenant ID or domain. Whether a
    /// plain `http://` authority may be used is the [`TokenSource`]'s
    /// decision (the token request carries the client's secret).
    pub fn new(base: &str, tenant: &str) -> Result<Authority, OAuthError> {
        let url = HttpUrl::parse(base).map_err(|e| {
            OAuthError::Usage(format!(
                "--authority: {e}; give the sign-in server's URL, e.g. {DEFAULT_AUTHORITY}"
            ))
        })?;
        if url.query().is_some() {
            return Err(OAuthError::Usage(format!(
                "--authority {url} has a query; give scheme, host and (for some servers) a path, e.g. {DEFAULT_AUTHORITY}"
            )));
        }
        let tenant = tenant.trim();
        let valid = !tenant.is_empty()
            && tenant.len() <= 256
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !valid {
            return Err(OAuthError::Usage(format!(
                "the tenant '{}' is not a tenant ID or domain; give the directory (tenant) ID from the app registration's Overview page, or a domain such as contoso.onmicrosoft.com",
                tenant.escape_debug()
            )));
        }
        Ok(Authority {
            base: url.as_str().trim_end_matches('/').to_string(),
            https: url.is_https(),
            tenant: tenant.to_string(),
        })
    }

    /// True for an `https://` authority.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The authority URL without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The tenant as given.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`; also the exact `aud` of a
    /// client assertion.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.base, self.tenant)
    }

    /// `{authority}/{tenant}/oauth2/v2.0/devicecode`.
    pub fn device_code_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/devicecode", self.base, self.tenant)
    }

    /// True for `common`, `organizations` and `consumers`: fine for a user's
    /// sign-in, but an app-only token needs the tenant itself.
    pub fn is_multi_tenant(&self) -> bool {
        ["common", "organizations", "consumers"]
            .iter()
            .any(|t| self.tenant.eq_ignore_ascii_case(t))
    }

    /// Refuses a multi-tenant name for client credentials, before any request.
    pub fn check_app_only(&self) -> Result<(), OAuthError> {
        if self.is_multi_tenant() {
            return Err(OAuthError::Usage(format!(
                "--tenant {} works only with --device-code; an app signing in by itself (client secret or certificate) needs its own tenant: give the directory (tenant) ID or a domain such as contoso.onmicrosoft.com",
                self.tenant
            )));
        }
        Ok(())
    }
}
