//! A stand-in for Microsoft Entra ID's token endpoints, for what the
//! independent OAuth server the tests use (npm oidc-provider) does not do:
//! Entra's own answers. Its error bodies are Entra's JSON (`error`,
//! `error_description` with the AADSTS text, `error_codes`, `trace_id`,
//! `correlation_id`, …), it sends `slow_down` and `authorization_declined`,
//! and it throttles with 429 and `Retry-After`.
//!
//! * `POST /{tenant}/oauth2/v2.0/token`: client credentials (the secret, or
//!   an assertion whose `aud` is this URL and `iss` = `sub` = the client),
//!   the device-code grant, refresh tokens (single use, rotated).
//! * `POST /{tenant}/oauth2/v2.0/devicecode`: codes with Entra's `message`
//!   and `interval` 1; the first poll is `authorization_pending`, the second
//!   gets the token (the user "approved" in between).
//! * `GET /{tenant}/discovery/v2.0/keys`: the key its tokens are signed with.
//!
//! Access tokens are RS256 JWTs shaped like Entra's: `aud` the resource
//! named in the scope, an app's with `idtyp` `app` and `roles`
//! `["full_access_as_app"]`, a user's with `scp` and `upn`
//! (alice@contoso.com). A tenant whose name starts with `nope` does not
//! exist (AADSTS90002).
//!
//! # Scenarios, by the client ID's prefix
//!
//! | prefix | answer |
//! |---|---|
//! | `wrong-secret` | 401 `invalid_client` AADSTS7000215 (so does any wrong secret) |
//! | `expired-secret` | 401 `invalid_client` AADSTS7000222 |
//! | `bad-certificate` | 401 `invalid_client` AADSTS700027 to an assertion |
//! | `unknown-app` | 400 `unauthorized_client` AADSTS700016 |
//! | `no-public-flows` | 401 `invalid_client` AADSTS7000218 to the device-code request |
//! | `no-consent` | 400 `invalid_grant` AADSTS65001, `suberror` `consent_required`, to the first poll |
//! | `declined` | 400 `authorization_declined` AADSTS70018 to the first poll |
//! | `expired-code` | 400 `expired_token` AADSTS70020 to the first poll |
//! | `slow-down` | 400 `slow_down` to the first poll, then the token |
//! | `throttled-N` | the first N token requests: 429 `Retry-After: 1` |
//! | `no-roles` | an app's token without `roles` (no admin consent) |

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::http::{self, Action, Handler, Recorded, Reply, Request, Server};
use crate::jwt::{Signer, TokenCheck, epoch_seconds};
use crate::lock;

/// The user every delegated sign-in is.
pub const SIGNED_IN_USER: &str = "alice@contoso.com";

/// How the stand-in behaves.
#[derive(Clone, Debug)]
pub struct EntraOptions {
    /// The tenant in the paths (default `contoso.onmicrosoft.com`).
    pub tenant: String,
    /// The client secret every app has (default `entra-standin-secret-Zx9~`).
    pub secret: String,
    /// Seconds an access token lives (default 3600).
    pub expires_in: u64,
}

impl Default for EntraOptions {
    fn default() -> Self {
        EntraOptions {
            tenant: "contoso.onmicrosoft.com".into(),
            secret: "entra-standin-secret-Zx9~".into(),
            expires_in: 3600,
        }
    }
}

/// A running Entra stand-in. Dropping it stops the server.
pub struct Entra {
    server: Server,
    handler: Arc<EntraHandler>,
}

impl Entra {
    /// Starts on 127.0.0.1 (port 0).
    pub fn start(options: EntraOptions) -> io::Result<Entra> {
        let handler = Arc::new(EntraHandler {
            options,
            signer: Signer::test_key(),
            state: Mutex::new(EntraState::default()),
        });
        let bind: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        let server = Server::start(bind, Duration::ZERO, handler.clone())?;
        Ok(Entra { server, handler })
    }

    /// The `--authority`: `http://127.0.0.1:PORT`.
    pub fn authority(&self) -> String {
        self.server.url("")
    }

    /// The `iss` of its tokens: `{authority}/{tenant}/v2.0`.
    pub fn issuer(&self) -> String {
        format!("{}/{}/v2.0", self.authority(), self.handler.options.tenant)
    }

    /// A check of its tokens for `audience`, for the EWS stand-in.
    pub fn token_check(&self, audience: &str) -> TokenCheck {
        TokenCheck::from_jwks(&self.handler.signer.jwks(), &self.issuer(), audience)
            .expect("its own key set")
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Requests to the token endpoint so far.
    pub fn token_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
            .count()
    }

    /// Every secret it handed out: access, refresh and ID tokens, device
    /// codes (a test searches the tool's output for them).
    pub fn issued(&self) -> Vec<String> {
        lock(&self.handler.state).issued.clone()
    }
}

#[derive(Default)]
struct EntraState {
    /// Token requests per client ID, for the throttling scenario.
    token_requests: HashMap<String, u64>,
    /// Device code → polls so far, the client, and the scope asked for.
    device_codes: HashMap<String, (u64, String, String)>,
    /// Refresh tokens not yet used → the client and scope they are for.
    refresh_tokens: HashMap<String, (String, String)>,
    issued: Vec<String>,
    counter: u64,
}

struct EntraHandler {
    options: EntraOptions,
    signer: Signer,
    state: Mutex<EntraState>,
}

/// Entra's error body for an AADSTS code.
fn entra_error(
    status: u16,
    error: &str,
    code: Option<u64>,
    text: &str,
    suberror: Option<&str>,
) -> Action {
    let trace = "6f0e3a21-2b4c-4d5e-8f90-a1b2c3d4e5f6";
    let correlation = "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9";
    let timestamp = "2026-12-01 12:00:00Z";
    let description = match code {
        Some(code) => format!(
            "AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"
        ),
        None => text.to_string(),
    };
    let mut body = json!({
        "error": error,
        "error_description": description,
        "error_codes": code.map(|c| vec![c]).unwrap_or_default(),
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
    });
    if let Some(code) = code {
        body["error_uri"] = json!(format!(
            "https://login.microsoftonline.com/error?code={code}"
        ));
    }
    if let Some(suberror) = suberror {
        body["suberror"] = json!(suberror);
    }
    json_reply(status, &body)
}

fn json_reply(status: u16, body: &Value) -> Action {
    Action::Reply(
        Reply::new(status)
            .header("Cache-Control", "no-store, no-cache")
            .body("application/json; charset=utf-8", body.to_string()),
    )
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The resource a scope names: `https://outlook.office365.com/.default` →
/// `https://outlook.office365.com`.
fn resource_of(scope: &str) -> Option<String> {
    scope
        .split_whitespace()
        .filter(|s| !matches!(*s, "offline_access" | "openid" | "profile" | "email"))
        .find_map(|s| s.rsplit_once('/').map(|(resource, _)| resource.to_string()))
}

impl Handler for EntraHandler {
    fn handle(&self, request: &Request) -> Action {
        let tenant = &self.options.tenant;
        let path = request.path.as_str();
        let Some(rest) = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .filter(|(t, _)| t.eq_ignore_ascii_case(tenant) || t.starts_with("nope"))
            .map(|(t, rest)| (t.to_string(), rest.to_string()))
        else {
            return json_reply(404, &json!({"error": "not_found"}));
        };
        let (asked_tenant, endpoint) = rest;
        if asked_tenant.starts_with("nope") {
            return entra_error(
                400,
                "invalid_tenant",
                Some(90002),
                &format!(
                    "Tenant '{asked_tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
                None,
            );
        }
        let fields = http::parse_form(&request.body);
        match (request.method.as_str(), endpoint.as_str()) {
            ("GET", "discovery/v2.0/keys") => {
                Action::Reply(Reply::new(200).body("application/json", self.signer.jwks()))
            }
            ("POST", "oauth2/v2.0/devicecode") => self.device_code(&fields),
            ("POST", "oauth2/v2.0/token") => self.token(request, &fields),
            _ => json_reply(404, &json!({"error": "not_found"})),
        }
    }
}

impl EntraHandler {
    fn token_url(&self, request: &Request) -> String {
        format!(
            "http://{}/{}/oauth2/v2.0/token",
            http::host_port(request.server),
            self.options.tenant
        )
    }

    fn next_secret(&self, kind: &str) -> String {
        let mut state = lock(&self.state);
        state.counter += 1;
        let value = format!(
            "{kind}-{}-{:016x}",
            state.counter,
            epoch_seconds().wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ state.counter
        );
        state.issued.push(value.clone());
        value
    }

    fn device_code(&self, fields: &[(String, String)]) -> Action {
        let client = field(fields, "client_id").unwrap_or_default().to_string();
        if client.starts_with("no-public-flows") {
            return entra_error(
                401,
                "invalid_client",
                Some(7000218),
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                None,
            );
        }
        let device_code = self.next_secret("DAQABIQEAAADevice");
        let user_code = format!("EWS{}", lock(&self.state).counter);
        let scope = field(fields, "scope").unwrap_or_default().to_string();
        lock(&self.state)
            .device_codes
            .insert(device_code.clone(), (0, client, scope));
        json_reply(
            200,
            &json!({
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": 1,
                "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate."),
            }),
        )
    }

    fn token(&self, request: &Request, fields: &[(String, String)]) -> Action {
        let client = field(fields, "client_id").unwrap_or_default().to_string();
        let count = {
            let mut state = lock(&self.state);
            let count = state.token_requests.entry(client.clone()).or_insert(0);
            *count += 1;
            *count
        };
        if let Some(n) = client.strip_prefix("throttled-").and_then(|n| {
            n.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        }) && count <= n
        {
            let Action::Reply(reply) = entra_error(
                429,
                "temporarily_unavailable",
                None,
                "The service is temporarily unavailable; try again after the time in Retry-After.",
                None,
            ) else {
                unreachable!()
            };
            return Action::Reply(reply.header("Retry-After", "1"));
        }
        if client.starts_with("unknown-app") {
            return entra_error(
                400,
                "unauthorized_client",
                Some(700016),
                &format!(
                    "Application with identifier '{client}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
                    self.options.tenant
                ),
                None,
            );
        }
        let scope = field(fields, "scope").unwrap_or_default().to_string();
        match field(fields, "grant_type").unwrap_or_default() {
            "client_credentials" => self.client_credentials(request, fields, &client, &scope),
            "urn:ietf:params:oauth:grant-type:device_code" => self.poll(request, fields, &client),
            "refresh_token" => {
                let given = field(fields, "refresh_token").unwrap_or_default();
                let known = lock(&self.state).refresh_tokens.remove(given);
                match known {
                    Some((owner, scope)) if owner == client => {
                        self.delegated_token(request, &client, &scope)
                    }
                    _ => entra_error(
                        400,
                        "invalid_grant",
                        Some(70008),
                        "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
                        None,
                    ),
                }
            }
            other => entra_error(
                400,
                "unsupported_grant_type",
                Some(70003),
                &format!("The app requested an unsupported grant type '{other}'."),
                None,
            ),
        }
    }

    fn client_credentials(
        &self,
        request: &Request,
        fields: &[(String, String)],
        client: &str,
        scope: &str,
    ) -> Action {
        if client.starts_with("expired-secret") {
            return entra_error(
                401,
                "invalid_client",
                Some(7000222),
                &format!(
                    "The provided client secret keys for app '{client}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
                ),
                None,
            );
        }
        if let Some(assertion) = field(fields, "client_assertion") {
            let claims = assertion
                .split('.')
                .nth(1)
                .and_then(|p| {
                    use base64::Engine;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(p)
                        .ok()
                })
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .unwrap_or(Value::Null);
            let good = claims["aud"] == self.token_url(request).as_str()
                && claims["iss"] == client
                && claims["sub"] == client;
            if client.starts_with("bad-certificate") || !good {
                return entra_error(
                    401,
                    "invalid_client",
                    Some(700027),
                    "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: 'B4A9F0C0F5E13D2A8C4D1E06E7A3B5C9D8F21A04', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '00000000-0000-0000-0000-000000000000'.]",
                    None,
                );
            }
        } else if field(fields, "client_secret") != Some(self.options.secret.as_str())
            || client.starts_with("wrong-secret")
        {
            return entra_error(
                401,
                "invalid_client",
                Some(7000215),
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client}'."
                ),
                None,
            );
        }
        let Some(resource) = resource_of(scope).filter(|_| scope.ends_with("/.default")) else {
            return entra_error(
                400,
                "invalid_scope",
                Some(1002012),
                &format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
                None,
            );
        };
        let now = epoch_seconds();
        let mut claims = json!({
            "aud": resource, "iss": self.issuer(request), "iat": now, "nbf": now,
            "exp": now + self.options.expires_in, "appid": client, "idtyp": "app",
            "sub": "8f5d2a61-0c4b-4e7a-9b1d-3c2e1f0a9b8c", "tid": "contoso",
        });
        if !client.starts_with("no-roles") {
            claims["roles"] = json!(["full_access_as_app"]);
        }
        let access = self.signer.sign(&claims);
        lock(&self.state).issued.push(access.clone());
        json_reply(
            200,
            &json!({"token_type": "Bearer", "expires_in": self.options.expires_in,
                "ext_expires_in": self.options.expires_in, "access_token": access}),
        )
    }

    fn poll(&self, request: &Request, fields: &[(String, String)], client: &str) -> Action {
        let code = field(fields, "device_code").unwrap_or_default().to_string();
        let (polls, scope) = {
            let mut state = lock(&self.state);
            match state.device_codes.get_mut(&code) {
                Some((polls, owner, scope)) if owner == client => {
                    *polls += 1;
                    (*polls, scope.clone())
                }
                _ => {
                    return entra_error(
                        400,
                        "invalid_grant",
                        Some(70000),
                        "The provided value for the 'device_code' parameter is not valid.",
                        None,
                    );
                }
            }
        };
        let pending = || {
            entra_error(
                400,
                "authorization_pending",
                Some(70016),
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                None,
            )
        };
        let first = polls == 1;
        if client.starts_with("declined") && first {
            return entra_error(
                400,
                "authorization_declined",
                Some(70018),
                "The user declined the sign-in request.",
                None,
            );
        }
        if client.starts_with("expired-code") && first {
            return entra_error(
                400,
                "expired_token",
                Some(70020),
                "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
                None,
            );
        }
        if client.starts_with("no-consent") && first {
            return entra_error(
                400,
                "invalid_grant",
                Some(65001),
                &format!(
                    "The user or administrator has not consented to use the application with ID '{client}' named 'ews-photo'. Send an interactive authorization request for this user and resource."
                ),
                Some("consent_required"),
            );
        }
        if client.starts_with("slow-down") {
            if first {
                return json_reply(
                    400,
                    &json!({"error": "slow_down", "error_description": "Polling too fast."}),
                );
            }
        } else if first {
            return pending();
        }
        lock(&self.state).device_codes.remove(&code);
        self.delegated_token(request, client, &scope)
    }

    /// A user's token (and refresh and ID tokens) for the resource of `scope`.
    fn delegated_token(&self, request: &Request, client: &str, scope: &str) -> Action {
        let resource = resource_of(scope).unwrap_or_else(|| "https://outlook.office365.com".into());
        let now = epoch_seconds();
        let access = self.signer.sign(&json!({
            "aud": resource, "iss": self.issuer(request), "iat": now, "nbf": now,
            "exp": now + self.options.expires_in, "appid": client,
            "scp": "EWS.AccessAsUser.All", "upn": SIGNED_IN_USER, "sub": "alice-pairwise-sub",
        }));
        let id_token = self.signer.sign(&json!({
            "aud": client, "iss": self.issuer(request), "iat": now, "nbf": now, "exp": now + 3600,
            "preferred_username": SIGNED_IN_USER, "name": "Alice", "sub": "alice-pairwise-sub",
        }));
        let refresh = self.next_secret("0.AXEA-refresh");
        {
            let mut state = lock(&self.state);
            state.issued.push(access.clone());
            state.issued.push(id_token.clone());
            state
                .refresh_tokens
                .insert(refresh.clone(), (client.to_string(), scope.to_string()));
        }
        json_reply(
            200,
            &json!({"token_type": "Bearer", "scope": format!("{resource}/EWS.AccessAsUser.All"),
                "expires_in": self.options.expires_in, "ext_expires_in": self.options.expires_in,
                "access_token": access, "refresh_token": refresh, "id_token": id_token}),
        )
    }

    /// `http://127.0.0.1:PORT/{tenant}/v2.0`, the address the request came to.
    fn issuer(&self, request: &Request) -> String {
        format!(
            "http://{}/{}/v2.0",
            http::host_port(request.server),
            self.options.tenant
        )
    }
}
