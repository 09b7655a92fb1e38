//! The single-leg HTTP authentication a stand-in can demand (Basic, Bearer, or
//! a fixed set of challenges), checked before anything else, as IIS does.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::http::{Reply, Request};
use crate::jwt::TokenCheck;

/// The body IIS sends with a 401 behind a TMG reverse proxy.
const CHALLENGE_PAGE: &str = "<html><head><title>Error Message</title></head><body>\
<h1>Error Code: 401 Unauthorized. The server requires authorization to fulfill the request. \
Access to the Web server is denied. Contact the server administrator.</h1></body></html>\r\n";

/// How the server authenticates requests.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No authentication.
    None,
    /// HTTP Basic: 401 with `WWW-Authenticate: Basic realm="standin"` (empty
    /// body) unless `Authorization: Basic` carries exactly `user:password`.
    Basic {
        /// Expected user name.
        user: String,
        /// Expected password.
        password: String,
    },
    /// Bearer token: 401 with `WWW-Authenticate: Bearer realm="standin"`
    /// (plus `error="invalid_token"` when a wrong token was sent), empty body,
    /// unless `Authorization: Bearer <token>` matches.
    Bearer {
        /// Expected token.
        token: String,
    },
    /// Always 401, with one `WWW-Authenticate` header per entry and an HTML
    /// body (`Content-Type: text/html`), like a TMG reverse proxy.
    Challenge(Vec<String>),
    /// Bearer tokens as Exchange checks them: only current tokens of the
    /// issuer, for the audience ([`TokenCheck`]). The EWS handler also checks
    /// impersonation and `X-AnchorMailbox` against what the token says.
    Token(Arc<TokenCheck>),
}

impl Auth {
    /// The 401 to send when `request` does not authenticate, or `None` when it
    /// may go on.
    pub fn check(&self, request: &Request) -> Option<Reply> {
        let authorization = request.header("authorization").unwrap_or("");
        let (scheme, credentials) = authorization.split_once(' ').unwrap_or((authorization, ""));
        let credentials = credentials.trim();
        match self {
            Auth::None => None,
            Auth::Basic { user, password } => {
                let ok = scheme.eq_ignore_ascii_case("basic")
                    && B64.decode(credentials).ok().as_deref()
                        == Some(format!("{user}:{password}").as_bytes());
                (!ok).then(|| Reply::new(401).header("WWW-Authenticate", "Basic realm=\"standin\""))
            }
            Auth::Bearer { token } => {
                let bearer = scheme.eq_ignore_ascii_case("bearer");
                if bearer && credentials == token {
                    return None;
                }
                let challenge = if bearer {
                    "Bearer realm=\"standin\", error=\"invalid_token\""
                } else {
                    "Bearer realm=\"standin\""
                };
                Some(Reply::new(401).header("WWW-Authenticate", challenge))
            }
            Auth::Token(check) => check.check(request),
            Auth::Challenge(list) => {
                let mut reply = Reply::new(401);
                for entry in list {
                    reply = reply.header("WWW-Authenticate", entry.clone());
                }
                Some(
                    reply
                        .header("Pragma", "no-cache")
                        .header("Cache-Control", "no-cache")
                        .body("text/html", CHALLENGE_PAGE),
                )
            }
        }
    }
}
