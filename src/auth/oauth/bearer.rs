//! The authenticator of `--auth oauth`: a Bearer token from the shared
//! [`TokenSource`], renewed before it expires, and once more when the server
//! says it is no longer valid.

use std::sync::Arc;

use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;

use super::{Token, TokenKind, TokenSource};
use crate::Secret;
use crate::auth::{AuthError, Authenticator, Challenge, Step};

/// Sends the source's current token. After a 401 with `error="invalid_token"`
/// it tells the source (which renews once for every client that saw the same
/// token refused) and tries once more with the new token; any other 401, or a
/// second one, ends the request.
///
/// The signed-in user's address (delegated sign-in) is the request's
/// `X-AnchorMailbox` when the back end sets none.
#[derive(Debug)]
pub struct RenewingBearer {
    source: Arc<TokenSource>,
    current: Option<Token>,
    renewed: bool,
}

impl RenewingBearer {
    /// An authenticator for the tokens of `source`.
    pub fn new(source: Arc<TokenSource>) -> RenewingBearer {
        RenewingBearer {
            source,
            current: None,
            renewed: false,
        }
    }
}

impl Authenticator for RenewingBearer {
    fn scheme(&self) -> &'static str {
        "Bearer"
    }

    fn authorization(&mut self, challenge: Option<&Challenge>) -> Result<Step, AuthError> {
        match challenge {
            None => self.renewed = false,
            Some(challenge) => {
                let invalid_token = challenge
                    .param("error")
                    .is_some_and(|e| e.eq_ignore_ascii_case("invalid_token"));
                if !invalid_token || self.renewed {
                    return Ok(Step::Failed);
                }
                self.renewed = true;
                if let Some(token) = &self.current {
                    self.source.reject(token);
                }
            }
        }
        let token = self.source.token().map_err(AuthError::SignIn)?;
        let header = crate::auth::bearer_header(&token.value);
        self.current = Some(token);
        Ok(Step::Header(header))
    }

    fn rejection_hint(&self, challenge: Option<&Challenge>) -> String {
        let said = crate::auth::bearer_error(challenge);
        let renewed = if self.renewed {
            ", also right after it was renewed"
        } else {
            ""
        };
        format!(
            "the server refused the token{said}{renewed}: check that it is for this server (--scope {}: Exchange Online wants https://outlook.office365.com, on premises with Hybrid Modern Auth the EWS URL's https://host), and the app's API permissions (full_access_as_app or EWS.AccessAsUser.All) and admin consent",
            self.source.sign_in().scope
        )
    }

    fn anchor_mailbox(&self) -> Option<String> {
        self.current.as_ref().and_then(|t| t.account.clone())
    }

    fn forbidden_hint(&self) -> Option<String> {
        if self.source.kind() != TokenKind::AppOnly {
            return None;
        }
        let roles = self.current.as_ref().and_then(|t| roles_of(&t.value));
        Some(match roles {
            Some(roles) if roles.is_empty() => "the app's token carries no application permission (no roles): Entra issues tokens to an app whose permissions have no admin consent, and Exchange refuses them; add the application permission full_access_as_app (Office 365 Exchange Online) and Grant admin consent, then run again with --no-token-cache".to_string(),
            Some(roles) => format!(
                "the app's token has the roles {}, but Exchange denied access: check the application access policies and RBAC for Applications scopes for this mailbox, and that EWS is allowed for the app (EWSAllowedAppIDs)",
                roles.join(", ")
            ),
            None => "an app's token is refused like this when its permissions have no admin consent (the token then carries no roles): check that full_access_as_app (Office 365 Exchange Online) is granted with admin consent".to_string(),
        })
    }
}

/// The `roles` claim of an access token, when it is a readable JWT: `Some`
/// with an empty list when it has none. Only for the hint of a 403; what the
/// token allows is the server's decision.
fn roles_of(token: &Secret) -> Option<Vec<String>> {
    let payload = token.expose().split('.').nth(1)?;
    let bytes = BASE64_URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let claims = claims.as_object()?;
    Some(
        claims
            .get("roles")
            .and_then(|r| r.as_array())
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_a_jwt_when_readable() {
        let jwt = |claims: &str| {
            Secret::new(format!(
                "eyJhbGciOiJSUzI1NiJ9.{}.sig",
                BASE64_URL_SAFE_NO_PAD.encode(claims)
            ))
        };
        assert_eq!(
            roles_of(&jwt(r#"{"roles":["full_access_as_app"]}"#)),
            Some(vec!["full_access_as_app".to_string()])
        );
        assert_eq!(roles_of(&jwt(r#"{"aud":"x"}"#)), Some(vec![]));
        assert_eq!(roles_of(&Secret::new("opaque-token")), None);
    }
}
