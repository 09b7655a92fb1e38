//! Answers of the token and device-code endpoints.
//!
//! Errors are classified by the JSON `error` and `error_codes[0]` (Entra's
//! AADSTS number), never by `error_description`, whose wording changes. The
//! description is still shown, cut to its first line, with control characters
//! and every value the request sent (secret, assertion, codes) taken out.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::OAuthError;
use super::form::TokenForm;
use crate::Secret;
use crate::http::parse_retry_after;

/// A successful token answer. `Debug` shows no token.
#[derive(Clone)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: Secret,
    /// Seconds it is valid for, from when it was issued.
    pub expires_in: u64,
    /// Entra's hint to renew earlier than `expires_in` (seconds), if sent.
    pub refresh_in: Option<u64>,
    /// A refresh token, for delegated sign-in with `offline_access`.
    pub refresh_token: Option<Secret>,
    /// The scopes granted, as the server lists them.
    pub scope: Option<String>,
    /// The signed-in user's address (`preferred_username`, `upn` or `email`
    /// of the ID token a delegated sign-in with `openid profile` gets).
    pub account: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &self.access_token)
            .field("expires_in", &self.expires_in)
            .field("refresh_in", &self.refresh_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .field("account", &self.account)
            .finish()
    }
}

/// A number Entra sends as a JSON number, or (v1 endpoints, some proxies) as
/// a string of digits.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(u64),
    Float(f64),
    Text(String),
}

impl Number {
    fn get(&self) -> Option<u64> {
        match self {
            Number::Int(n) => Some(*n),
            Number::Float(f) if f.is_finite() && *f >= 0.0 => Some(*f as u64),
            Number::Float(_) => None,
            Number::Text(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Deserialize)]
struct RawToken {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<Number>,
    refresh_in: Option<Number>,
    refresh_token: Option<String>,
    scope: Option<String>,
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    preferred_username: Option<String>,
    upn: Option<String>,
    email: Option<String>,
}

/// The user an ID token names, when that is an address. The token came
/// straight from the token endpoint over TLS, which OpenID Connect Core
/// (§3.1.3.7) accepts in place of checking its signature; it is only used to
/// route requests (`X-AnchorMailbox`), never to decide what is allowed.
///
/// ```
/// use ews_photo::auth::oauth::response::account_of_id_token;
/// // {"preferred_username":"alice@contoso.com"}
/// let jwt = "eyJhbGciOiJub25lIn0.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOiJhbGljZUBjb250b3NvLmNvbSJ9.";
/// assert_eq!(account_of_id_token(jwt).as_deref(), Some("alice@contoso.com"));
/// assert_eq!(account_of_id_token("not a jwt"), None);
/// ```
pub fn account_of_id_token(id_token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::prelude::BASE64_URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: IdClaims = serde_json::from_slice(&bytes).ok()?;
    [claims.preferred_username, claims.upn, claims.email]
        .into_iter()
        .flatten()
        .map(|name| name.trim().to_string())
        .find(|name| crate::validate_email(name).is_ok())
}

#[derive(Deserialize)]
struct RawError {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u64>,
    suberror: Option<String>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
}

/// Reads a token-endpoint answer: a token on 200, else the endpoint's error.
///
/// `sent` is the request, so that nothing it carried can come back in a
/// message. `retry_after` is the answer's `Retry-After` header, if any.
///
/// ```
/// use ews_photo::auth::oauth::{form, response::parse_token_response, OAuthError, EntraCode};
/// use ews_photo::Secret;
/// let secret = Secret::new("wrong");
/// let sent = form::client_credentials("app", form::ClientAuth::Secret(&secret), "https://outlook.office365.com/.default");
/// let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t","error_codes":[7000215]}"#;
/// let Err(OAuthError::Endpoint(e)) = parse_token_response(401, body, &sent, None) else { panic!() };
/// assert_eq!(e.entra_code(), Some(EntraCode::WrongSecret));
/// assert!(e.to_string().contains("Value"));
/// let ok = br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0"}"#;
/// let token = parse_token_response(200, ok, &sent, None).unwrap();
/// assert_eq!(token.expires_in, 3599);
/// ```
pub fn parse_token_response(
    status: u16,
    body: &[u8],
    sent: &TokenForm,
    retry_after: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if status != 200 {
        return Err(parse_error(status, body, sent, retry_after));
    }
    let raw: RawToken = serde_json::from_slice(body).map_err(|_| not_oauth(status, body))?;
    let access_token = raw.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        OAuthError::Malformed(
            "the token endpoint answered 200 without an access_token; check --authority".into(),
        )
    })?;
    match raw.token_type.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        other => {
            return Err(OAuthError::Malformed(format!(
                "the token endpoint issued a token of type {:?}, not Bearer; ews-photo can only send Bearer tokens",
                other.unwrap_or("(none)")
            )));
        }
    }
    let expires_in = raw.expires_in.and_then(|n| n.get()).ok_or_else(|| {
        OAuthError::Malformed(
            "the token endpoint's answer has no usable expires_in; check --authority".into(),
        )
    })?;
    Ok(TokenResponse {
        access_token: Secret::new(access_token),
        expires_in,
        refresh_in: raw.refresh_in.and_then(|n| n.get()),
        refresh_token: raw.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
        scope: raw.scope,
        account: raw.id_token.as_deref().and_then(account_of_id_token),
    })
}

/// What the device authorization endpoint answers (RFC 8628 §3.2).
/// `Debug` shows no device code.
#[derive(Clone)]
pub struct DeviceAuthorization {
    /// The polling token (secret: whoever has it gets the user's token).
    pub device_code: Secret,
    /// What the user types into the sign-in page.
    pub user_code: String,
    /// The page to open.
    pub verification_uri: String,
    /// The page with the code filled in (RFC 8628; Entra does not send it).
    pub verification_uri_complete: Option<String>,
    /// Seconds until the codes expire (missing: 900, Entra's value).
    pub expires_in: u64,
    /// Seconds between polls (missing: 5, RFC 8628's default).
    pub interval: u64,
    /// Entra's ready-made, localized instruction.
    pub message: Option<String>,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &self.device_code)
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl DeviceAuthorization {
    /// What to print for the user (on stderr): Entra's `message` verbatim
    /// when sent, else the URL and the code.
    pub fn instructions(&self) -> String {
        match &self.message {
            Some(message) if !message.trim().is_empty() => clean_text(message, 1000),
            _ => format!(
                "To sign in, open {} in a browser and enter the code {}",
                clean_text(&self.verification_uri, 500),
                clean_text(&self.user_code, 100)
            ),
        }
    }
}

#[derive(Deserialize)]
struct RawDevice {
    device_code: Option<String>,
    user_code: Option<String>,
    verification_uri: Option<String>,
    // Seen from the /consumers endpoint and old servers.
    verification_url: Option<String>,
    verification_uri_complete: Option<String>,
    expires_in: Option<Number>,
    interval: Option<Number>,
    message: Option<String>,
}

/// Reads the device authorization answer.
///
/// ```
/// use ews_photo::auth::oauth::{form, response::parse_device_authorization};
/// let sent = form::device_code("app", "s");
/// let body = br#"{"user_code":"ABCD1234","device_code":"DAQABAAEAAA","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD1234 to authenticate."}"#;
/// let device = parse_device_authorization(200, body, &sent).unwrap();
/// assert_eq!(device.interval, 5);
/// assert!(device.instructions().contains("ABCD1234"));
/// ```
pub fn parse_device_authorization(
    status: u16,
    body: &[u8],
    sent: &TokenForm,
) -> Result<DeviceAuthorization, OAuthError> {
    if status != 200 {
        return Err(parse_error(status, body, sent, None));
    }
    let raw: RawDevice = serde_json::from_slice(body).map_err(|_| not_oauth(status, body))?;
    let missing = |what: &str| {
        OAuthError::Malformed(format!(
            "the device-code endpoint's answer has no {what}; check --authority"
        ))
    };
    let device_code = raw
        .device_code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| missing("device_code"))?;
    let user_code = raw
        .user_code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| missing("user_code"))?;
    let verification_uri = raw
        .verification_uri
        .or(raw.verification_url)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| missing("verification_uri"))?;
    Ok(DeviceAuthorization {
        device_code: Secret::new(device_code),
        user_code,
        verification_uri,
        verification_uri_complete: raw.verification_uri_complete,
        expires_in: raw.expires_in.and_then(|n| n.get()).unwrap_or(900),
        interval: raw.interval.and_then(|n| n.get()).unwrap_or(5).max(1),
        message: raw.message,
    })
}

/// The AADSTS codes that get their own advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntraCode {
    /// 7000215: wrong client secret (often the secret's ID sent instead of its value).
    WrongSecret,
    /// 7000222: the client secret has expired.
    ExpiredSecret,
    /// 700027: the assertion's signature or certificate is not known to the app.
    BadAssertion,
    /// 700024: the assertion is outside its valid time (clock skew).
    AssertionTime,
    /// 700016: no such application in the tenant.
    UnknownApp,
    /// 90002: no such tenant.
    UnknownTenant,
    /// 65001: consent missing.
    ConsentMissing,
    /// 7000218: the app does not allow public client flows (device code).
    PublicClientFlowsNotAllowed,
    /// 700025: a public client sent a secret or assertion.
    PublicClientWithCredential,
    /// 1002012: client credentials with a scope other than `/.default`.
    ScopeNotDefault,
    /// 70020: the device code has expired.
    DeviceCodeExpired,
    /// 70016: the user has not finished signing in yet.
    AuthorizationPending,
    /// 70018: the user declined (or the code was wrong).
    AuthorizationDeclined,
}

impl EntraCode {
    /// The code's meaning, from its number.
    pub fn from_number(code: u64) -> Option<EntraCode> {
        Some(match code {
            7000215 => EntraCode::WrongSecret,
            7000222 => EntraCode::ExpiredSecret,
            700027 => EntraCode::BadAssertion,
            700024 => EntraCode::AssertionTime,
            700016 => EntraCode::UnknownApp,
            90002 => EntraCode::UnknownTenant,
            65001 => EntraCode::ConsentMissing,
            7000218 => EntraCode::PublicClientFlowsNotAllowed,
            700025 => EntraCode::PublicClientWithCredential,
            1002012 => EntraCode::ScopeNotDefault,
            70020 => EntraCode::DeviceCodeExpired,
            70016 => EntraCode::AuthorizationPending,
            70018 => EntraCode::AuthorizationDeclined,
            _ => return None,
        })
    }

    fn advice(self) -> &'static str {
        match self {
            EntraCode::WrongSecret => {
                "the client secret is wrong: give the secret's Value (shown once, when it was created under Certificates & secrets), not its Secret ID; if the value is lost, create a new secret"
            }
            EntraCode::ExpiredSecret => {
                "the client secret has expired: create a new one under Certificates & secrets in the app registration and put its Value in the secret file"
            }
            EntraCode::BadAssertion => {
                "Entra does not know the certificate that signed the assertion: upload this certificate (the public part, .cer or .pem) under Certificates & secrets of this app registration, and check that --client-id is that app"
            }
            EntraCode::AssertionTime => {
                "the signed assertion is outside its valid time: this machine's clock is off; set it right (NTP) and try again"
            }
            EntraCode::UnknownApp => {
                "there is no app with this client ID in the tenant: check --client-id (the Application (client) ID on the app's Overview page) and --tenant; an app registered in another tenant needs admin consent in this one"
            }
            EntraCode::UnknownTenant => {
                "the tenant does not exist: check --tenant (the Directory (tenant) ID on the app's Overview page, or a verified domain such as contoso.onmicrosoft.com) and --authority"
            }
            EntraCode::ConsentMissing => {
                "the permission has not been granted: an administrator must grant consent (API permissions > Grant admin consent for the tenant), or the user must consent when signing in"
            }
            EntraCode::PublicClientFlowsNotAllowed => {
                "the app does not allow device-code sign-in: in the app registration, Authentication > Advanced settings > Allow public client flows must be Yes"
            }
            EntraCode::PublicClientWithCredential => {
                "the app is registered as a public client, which must not send a secret or certificate: use --device-code without them, or register a confidential (web) app"
            }
            EntraCode::ScopeNotDefault => {
                "an app signing in by itself must ask for {resource}/.default, e.g. https://outlook.office365.com/.default: fix --scope"
            }
            EntraCode::DeviceCodeExpired => "the sign-in code expired before it was used",
            EntraCode::AuthorizationPending => "the sign-in is not finished yet",
            EntraCode::AuthorizationDeclined => "the sign-in was declined",
        }
    }
}

/// The token endpoint's error answer, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenEndpointError {
    /// The HTTP status.
    pub status: u16,
    /// The OAuth `error` (`invalid_client`, `authorization_pending`, …).
    pub error: String,
    /// Entra's `error_codes[0]` (the AADSTS number), if sent.
    pub code: Option<u64>,
    /// The first line of `error_description`, cleaned.
    pub description: Option<String>,
    /// Entra's `suberror` (`consent_required`, …).
    pub suberror: Option<String>,
    /// Entra's trace ID, for a support case.
    pub trace_id: Option<String>,
    /// Entra's correlation ID, for a support case.
    pub correlation_id: Option<String>,
    /// How long to wait before trying again (429/5xx), from `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl TokenEndpointError {
    /// The AADSTS code's meaning, when it is one with its own advice.
    pub fn entra_code(&self) -> Option<EntraCode> {
        self.code.and_then(EntraCode::from_number)
    }

    /// True for `429` and `5xx` answers, and for OAuth's `temporarily_unavailable`
    /// and `server_error`: trying again later can help.
    pub fn is_transient(&self) -> bool {
        self.status == 429
            || self.status >= 500
            || matches!(
                self.error.as_str(),
                "temporarily_unavailable" | "server_error"
            )
    }

    /// What to check, from `error` and the code.
    pub fn advice(&self) -> String {
        if let Some(code) = self.entra_code() {
            return code.advice().to_string();
        }
        match self.error.as_str() {
            "invalid_client" => "the app could not be authenticated: check --client-id, and that the client secret (its Value, not its ID) or the certificate is the one registered under Certificates & secrets".into(),
            "unauthorized_client" => "the app is not allowed this kind of sign-in: check --client-id and --tenant; for --device-code the app needs Allow public client flows = Yes (Authentication > Advanced settings)".into(),
            "invalid_scope" => "the scope is not valid for this app: an app signing in by itself needs {resource}/.default; a user sign-in needs the API permission (EWS.AccessAsUser.All under Office 365 Exchange Online) added to the app registration".into(),
            "invalid_grant" => if self.suberror.as_deref() == Some("consent_required") {
                EntraCode::ConsentMissing.advice().into()
            } else {
                "the sign-in grant (refresh token or device code) is no longer valid: sign in again with --device-code; if it keeps happening, check the app's API permissions, consent and Conditional Access policies".into()
            },
            "invalid_tenant" | "invalid_request" if self.code == Some(90002) => EntraCode::UnknownTenant.advice().into(),
            "invalid_request" => "the token endpoint found the request malformed: check --authority (it must be the sign-in server, e.g. https://login.microsoftonline.com), --tenant and --client-id".into(),
            "temporarily_unavailable" | "server_error" => "the sign-in service has a problem: try again later".into(),
            _ if self.status == 429 => "the sign-in service is throttling this app: try again later".into(),
            _ => "check --authority, --tenant and --client-id, and the app registration".into(),
        }
    }
}

impl fmt::Display for TokenEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sign-in refused by the token endpoint (HTTP {}): {}",
            self.status, self.error
        )?;
        if let Some(code) = self.code {
            write!(f, " AADSTS{code}")?;
        }
        if let Some(description) = &self.description {
            write!(f, " \"{description}\"")?;
        }
        write!(f, "; {}", self.advice())?;
        let ids: Vec<String> = [
            ("trace ID", &self.trace_id),
            ("correlation ID", &self.correlation_id),
        ]
        .into_iter()
        .filter_map(|(name, id)| id.as_ref().map(|id| format!("{name} {id}")))
        .collect();
        if !ids.is_empty() {
            write!(f, " ({})", ids.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for TokenEndpointError {}

/// Reads an error answer. Not JSON (an HTML page from a proxy, a wrong URL)
/// gives [`OAuthError::Malformed`].
fn parse_error(
    status: u16,
    body: &[u8],
    sent: &TokenForm,
    retry_after: Option<&str>,
) -> OAuthError {
    let Ok(raw) = serde_json::from_slice::<RawError>(body) else {
        return not_oauth(status, body);
    };
    let Some(error) = raw.error.filter(|e| !e.is_empty()) else {
        return not_oauth(status, body);
    };
    let retry_after = retry_after
        .and_then(|value| parse_retry_after(value, SystemTime::now()))
        .or(if status == 429 || status >= 500 {
            Some(DEFAULT_RETRY_AFTER)
        } else {
            None
        });
    let description = raw.error_description.map(|d| {
        // Entra appends "\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …".
        let first = d.lines().next().unwrap_or_default();
        let mut text = clean_text(first, 500);
        for value in sent.sensitive_values() {
            text = text.replace(value, "<redacted>");
        }
        text
    });
    OAuthError::from(TokenEndpointError {
        status,
        error: clean_text(&error, 100),
        code: raw.error_codes.first().copied(),
        description: description.filter(|d| !d.is_empty()),
        suberror: raw.suberror.map(|s| clean_text(&s, 100)),
        trace_id: raw.trace_id.map(|s| clean_text(&s, 100)),
        correlation_id: raw.correlation_id.map(|s| clean_text(&s, 100)),
        retry_after,
    })
}

fn not_oauth(status: u16, body: &[u8]) -> OAuthError {
    let kind = if body.trim_ascii_start().starts_with(b"<") {
        "an HTML or XML page"
    } else if body.is_empty() {
        "an empty body"
    } else {
        "a body that is not OAuth 2 JSON"
    };
    OAuthError::Malformed(format!(
        "the token endpoint answered HTTP {status} with {kind}: check --authority (e.g. {}) and any proxy in between",
        super::DEFAULT_AUTHORITY
    ))
}

/// Text from the server, made safe to print: no control characters (no
/// terminal escapes), at most `max` characters.
fn clean_text(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    cleaned.trim().to_string()
}

/// The wait when a 429 or 5xx has no `Retry-After` (MSAL's default).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::oauth::form::{self, ClientAuth};

    fn secret_form(secret: &Secret) -> TokenForm {
        form::client_credentials(
            "11111111-2222-3333-4444-555555555555",
            ClientAuth::Secret(secret),
            "https://outlook.office365.com/.default",
        )
    }

    fn endpoint_error(status: u16, body: &str) -> TokenEndpointError {
        let secret = Secret::new("the-secret");
        match parse_token_response(status, body.as_bytes(), &secret_form(&secret), None) {
            Err(OAuthError::Endpoint(e)) => *e,
            other => panic!("not an endpoint error: {other:?}"),
        }
    }

    // The wrong-secret answer as Entra sends it (notes §A2,
    // OfficeDev/microsoft-365-agents-toolkit#8621).
    const WRONG_SECRET: &str = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'.\r\nTrace ID: 0c1d2e3f-0000-4000-8000-000000000001\r\nCorrelation ID: 7a8b9c0d-0000-4000-8000-000000000002\r\nTimestamp: 2023-05-06 06:03:00Z","error_codes":[7000215],"timestamp":"2023-05-06 06:03:00Z","trace_id":"0c1d2e3f-0000-4000-8000-000000000001","correlation_id":"7a8b9c0d-0000-4000-8000-000000000002","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#;

    #[test]
    fn entra_errors_are_classified_by_code_and_explained() {
        let e = endpoint_error(401, WRONG_SECRET);
        assert_eq!(e.error, "invalid_client");
        assert_eq!(e.entra_code(), Some(EntraCode::WrongSecret));
        assert_eq!(
            e.trace_id.as_deref(),
            Some("0c1d2e3f-0000-4000-8000-000000000001")
        );
        let shown = e.to_string();
        assert!(shown.contains("AADSTS7000215"), "{shown}");
        assert!(shown.contains("not its Secret ID"), "{shown}");
        assert!(shown.contains("correlation ID 7a8b9c0d"), "{shown}");
        // The description's first line only: no "Trace ID:" tail, no CR/LF.
        assert!(
            !shown.contains("Timestamp:") && !shown.contains('\r'),
            "{shown}"
        );

        let cases: &[(u16, &str, EntraCode, &str)] = &[
            (
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app '…' are expired.","error_codes":[7000222]}"#,
                EntraCode::ExpiredSecret,
                "expired",
            ),
            (
                400,
                r#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier '…' was not found in the directory 'contoso'.","error_codes":[700016]}"#,
                EntraCode::UnknownApp,
                "--client-id",
            ),
            (
                400,
                r#"{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'nope' not found.","error_codes":[90002]}"#,
                EntraCode::UnknownTenant,
                "--tenant",
            ),
            (
                400,
                r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'nope' not found.","error_codes":[90002]}"#,
                EntraCode::UnknownTenant,
                "--tenant",
            ),
            (
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: 'AB12']","error_codes":[700027]}"#,
                EntraCode::BadAssertion,
                "upload this certificate",
            ),
            (
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}"#,
                EntraCode::AssertionTime,
                "clock",
            ),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented to use the application.","error_codes":[65001],"suberror":"consent_required"}"#,
                EntraCode::ConsentMissing,
                "admin consent",
            ),
            (
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.","error_codes":[7000218]}"#,
                EntraCode::PublicClientFlowsNotAllowed,
                "Allow public client flows",
            ),
            (
                400,
                r#"{"error":"invalid_scope","error_description":"AADSTS1002012: The provided value for scope x is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).","error_codes":[1002012]}"#,
                EntraCode::ScopeNotDefault,
                "/.default",
            ),
            (
                400,
                r#"{"error":"expired_token","error_description":"AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.","error_codes":[70020]}"#,
                EntraCode::DeviceCodeExpired,
                "expired",
            ),
        ];
        for (status, body, code, advice) in cases {
            let e = endpoint_error(*status, body);
            assert_eq!(e.entra_code(), Some(*code), "{body}");
            assert!(e.to_string().contains(advice), "{code:?}: {e}");
        }
    }

    #[test]
    fn classification_ignores_the_description_text() {
        // A known code with new wording, and old wording with another code.
        let e = endpoint_error(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.","error_codes":[700027]}"#,
        );
        assert_eq!(e.entra_code(), Some(EntraCode::BadAssertion));
        let e = endpoint_error(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[9999999]}"#,
        );
        assert_eq!(e.entra_code(), None);
        assert!(
            e.advice().contains("could not be authenticated"),
            "{}",
            e.advice()
        );
    }

    #[test]
    fn plain_oauth_errors_get_advice_by_error() {
        // oidc-provider's answers: no error_codes.
        let e = endpoint_error(
            401,
            r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
        );
        assert_eq!((e.code, e.entra_code()), (None, None));
        assert!(e.to_string().contains("Certificates & secrets"), "{e}");
        for (error, hint) in [
            ("unauthorized_client", "Allow public client flows"),
            ("invalid_scope", "/.default"),
            ("invalid_grant", "sign in again"),
        ] {
            let body = format!(r#"{{"error":"{error}","error_description":"x"}}"#);
            let e = endpoint_error(400, &body);
            assert!(e.advice().contains(hint), "{error}: {}", e.advice());
        }
    }

    #[test]
    fn a_secret_echoed_by_the_server_is_not_shown() {
        let secret = Secret::new("the-secret");
        let body = br#"{"error":"invalid_client","error_description":"secret the-secret is wrong\u001b[31m"}"#;
        let Err(e) = parse_token_response(401, body, &secret_form(&secret), None) else {
            panic!()
        };
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("the-secret"), "{shown}");
        assert!(!shown.contains('\u{1b}'), "{shown}");
    }

    #[test]
    fn not_oauth_answers_say_to_check_the_authority() {
        let secret = Secret::new("s");
        for body in [&b"<html>proxy login</html>"[..], b"", b"{\"x\":1}", b"[1]"] {
            let Err(e) = parse_token_response(404, body, &secret_form(&secret), None) else {
                panic!()
            };
            assert!(matches!(e, OAuthError::Malformed(_)), "{e:?}");
            assert!(e.to_string().contains("--authority"), "{e}");
        }
        let Err(e) = parse_token_response(
            200,
            b"{\"access_token\":\"x\",\"token_type\":\"pop\",\"expires_in\":1}",
            &secret_form(&secret),
            None,
        ) else {
            panic!()
        };
        assert!(e.to_string().contains("Bearer"), "{e}");
    }

    #[test]
    fn token_answers_from_entra_and_oidc_provider() {
        let secret = Secret::new("s");
        let sent = secret_form(&secret);
        // Entra, delegated, with refresh_in; expires_in as a string (v1 style).
        let body = br#"{"token_type":"Bearer","scope":"https://outlook.office365.com/EWS.AccessAsUser.All","expires_in":"4976","ext_expires_in":4976,"refresh_in":2488,"access_token":"eyJ0eXAi.x.y","refresh_token":"0.AAAA-rt","id_token":"eyJ.id.tok","client_info":"eyJ1aWQiOiIx"}"#;
        let t = parse_token_response(200, body, &sent, None).unwrap();
        assert_eq!((t.expires_in, t.refresh_in), (4976, Some(2488)));
        assert_eq!(t.refresh_token.as_ref().unwrap().expose(), "0.AAAA-rt");
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("eyJ0eXAi") && !shown.contains("0.AAAA-rt"),
            "{shown}"
        );
        // oidc-provider's lower-case bearer... as it happens "Bearer"; accept any case.
        let body = br#"{"access_token":"abc","expires_in":60,"scope":"https://outlook.office365.com/.default","token_type":"bearer"}"#;
        assert_eq!(
            parse_token_response(200, body, &sent, None)
                .unwrap()
                .expires_in,
            60
        );
    }

    #[test]
    fn throttling_carries_the_wait() {
        let secret = Secret::new("s");
        let Err(OAuthError::Endpoint(e)) = parse_token_response(
            429,
            br#"{"error":"temporarily_unavailable","error_description":"busy"}"#,
            &secret_form(&secret),
            Some("17"),
        ) else {
            panic!()
        };
        assert!(e.is_transient());
        assert_eq!(e.retry_after, Some(Duration::from_secs(17)));
        let Err(OAuthError::Endpoint(e)) = parse_token_response(
            503,
            br#"{"error":"server_error"}"#,
            &secret_form(&secret),
            None,
        ) else {
            panic!()
        };
        assert_eq!(e.retry_after, Some(DEFAULT_RETRY_AFTER));
    }

    #[test]
    fn device_answers_from_entra_and_oidc_provider() {
        let sent = form::device_code("app", "s");
        // oidc-provider: verification_uri_complete, no interval, no message.
        let body = br#"{"device_code":"ynrWvPEeXcVDPdtohgkwBiI1fG6PRsHAZWrEgnfJR1y","user_code":"SSVC-LRDF","verification_uri":"https://127.0.0.1:43837/contoso/oauth2/v2.0/deviceauth","verification_uri_complete":"https://127.0.0.1:43837/contoso/oauth2/v2.0/deviceauth?user_code=SSVC-LRDF","expires_in":30}"#;
        let d = parse_device_authorization(200, body, &sent).unwrap();
        assert_eq!((d.interval, d.expires_in), (5, 30));
        assert_eq!(
            d.instructions(),
            "To sign in, open https://127.0.0.1:43837/contoso/oauth2/v2.0/deviceauth in a browser and enter the code SSVC-LRDF"
        );
        assert!(!format!("{d:?}").contains("ynrWvPE"));
        // An old answer with verification_url and string numbers.
        let body = br#"{"device_code":"D","user_code":"U","verification_url":"https://microsoft.com/devicelogin","expires_in":"900","interval":"5"}"#;
        let d = parse_device_authorization(200, body, &sent).unwrap();
        assert_eq!(d.verification_uri, "https://microsoft.com/devicelogin");
        // Entra refusing the device request for a confidential-only app.
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.","error_codes":[7000218]}"#;
        let Err(OAuthError::Endpoint(e)) = parse_device_authorization(401, body, &sent) else {
            panic!()
        };
        assert_eq!(e.entra_code(), Some(EntraCode::PublicClientFlowsNotAllowed));
    }
}
