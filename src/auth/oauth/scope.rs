//! Which scope to ask for, and the resource an EWS URL belongs to.
//!
//! Entra names the resource inside the scope (`{resource}/{permission}`).
//! Client credentials always ask for `{resource}/.default` (the application
//! permissions granted to the app); a signed-in user asks for the delegated
//! permission plus `offline_access` for a refresh token.

use super::OAuthError;
use crate::HttpUrl;

/// Exchange Online's resource (the `aud` of its tokens).
pub const EXCHANGE_ONLINE: &str = "https://outlook.office365.com";

/// The delegated EWS permission.
pub const EWS_DELEGATED_PERMISSION: &str = "EWS.AccessAsUser.All";

/// The app-only scope of a resource: `{resource}/.default`.
///
/// ```
/// use ews_photo::auth::oauth::scope;
/// assert_eq!(scope::app_only(scope::EXCHANGE_ONLINE), "https://outlook.office365.com/.default");
/// ```
pub fn app_only(resource: &str) -> String {
    format!("{}/.default", resource.trim_end_matches('/'))
}

/// The delegated scope for EWS: `{resource}/EWS.AccessAsUser.All offline_access`.
///
/// ```
/// use ews_photo::auth::oauth::scope;
/// assert_eq!(
///     scope::delegated(scope::EXCHANGE_ONLINE),
///     "https://outlook.office365.com/EWS.AccessAsUser.All offline_access"
/// );
/// ```
pub fn delegated(resource: &str) -> String {
    format!(
        "{}/{EWS_DELEGATED_PERMISSION} offline_access",
        resource.trim_end_matches('/')
    )
}

/// The resource of an EWS URL: Exchange Online's for its hosts, else the URL's
/// origin (`https://mail.contoso.com`), which is what Hybrid Modern Auth on
/// premises registers.
///
/// ```
/// use ews_photo::HttpUrl;
/// use ews_photo::auth::oauth::scope::resource_of_ews_url;
/// let resource = |url| resource_of_ews_url(&HttpUrl::parse(url).unwrap());
/// assert_eq!(resource("https://outlook.office365.com/EWS/Exchange.asmx"), "https://outlook.office365.com");
/// assert_eq!(resource("https://outlook.office.com/EWS/Exchange.asmx"), "https://outlook.office365.com");
/// assert_eq!(resource("https://Mail.Contoso.com:443/EWS/Exchange.asmx"), "https://mail.contoso.com");
/// assert_eq!(resource("https://[::1]:8443/EWS/Exchange.asmx"), "https://[::1]");
/// ```
pub fn resource_of_ews_url(url: &HttpUrl) -> String {
    let host = url.host();
    if host == "outlook.office.com" || host == "outlook.office365.com" {
        return EXCHANGE_ONLINE.to_string();
    }
    if host.contains(':') {
        format!("https://[{host}]")
    } else {
        format!("https://{host}")
    }
}

/// Refuses a client-credentials scope that is not `{resource}/.default`,
/// before any request (Entra would answer AADSTS1002012).
///
/// ```
/// use ews_photo::auth::oauth::scope::check_app_only;
/// assert!(check_app_only("https://outlook.office365.com/.default").is_ok());
/// assert!(check_app_only("https://outlook.office365.com/EWS.AccessAsUser.All").is_err());
/// ```
pub fn check_app_only(scope: &str) -> Result<(), OAuthError> {
    let items: Vec<&str> = scope.split_whitespace().collect();
    match items.as_slice() {
        [one] if one.ends_with("/.default") && one.len() > "/.default".len() => Ok(()),
        _ => Err(OAuthError::Usage(format!(
            "--scope '{}' cannot be used by an app signing in by itself: client credentials take exactly one scope, the resource followed by /.default (e.g. {})",
            scope.escape_debug(),
            app_only(EXCHANGE_ONLINE)
        ))),
    }
}

/// The scope set in a stable form (split on whitespace, sorted, without
/// duplicates), so that the same scopes in another order find the same cache
/// entry.
///
/// ```
/// use ews_photo::auth::oauth::scope::normalized;
/// assert_eq!(normalized(" offline_access  https://x/EWS.AccessAsUser.All offline_access"),
///            "https://x/EWS.AccessAsUser.All offline_access");
/// ```
pub fn normalized(scope: &str) -> String {
    let mut items: Vec<&str> = scope.split_whitespace().collect();
    items.sort_unstable();
    items.dedup();
    items.join(" ")
}

/// The scopes a user's sign-in sends: the configured ones plus
/// `offline_access openid profile` where missing, as MSAL adds them: a
/// refresh token for later runs, and an ID token naming the user (the
/// `X-AnchorMailbox` of delegated EWS requests).
///
/// ```
/// use ews_photo::auth::oauth::scope::with_sign_in_scopes;
/// assert_eq!(
///     with_sign_in_scopes("https://outlook.office365.com/EWS.AccessAsUser.All offline_access"),
///     "https://outlook.office365.com/EWS.AccessAsUser.All offline_access openid profile"
/// );
/// ```
pub fn with_sign_in_scopes(scope: &str) -> String {
    let mut items: Vec<&str> = scope.split_whitespace().collect();
    for extra in ["offline_access", "openid", "profile"] {
        if !items.contains(&extra) {
            items.push(extra);
        }
    }
    items.join(" ")
}
